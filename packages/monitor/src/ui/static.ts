/**
 * The UI's only script and stylesheet, served from /static (so the CSP forbids inline code).
 * The script writes task data with `textContent` only: nothing from the wire becomes markup.
 */
export const MONITOR_JS = `'use strict';
(function () {
  var meta = function (name) { var m = document.querySelector('meta[name="' + name + '"]'); return m ? m.content : ''; };
  var base = meta('base-path');
  var csrf = meta('csrf-token');
  var page = document.body.dataset.page;
  var status = document.getElementById('live-status');
  // Server clock minus ours, so liveness is judged on the server's time.
  var skew = 0;
  var nowS = function () { return Date.now() / 1000 + skew; };

  function fmtTime(s) { return s == null ? '\\u2014' : new Date(s * 1000).toISOString().replace('T', ' ').replace('Z', ''); }
  function fmtRuntime(s) { return s == null ? '\\u2014' : s < 1 ? (s * 1000).toFixed(1) + ' ms' : s.toFixed(3) + ' s'; }
  function clip(t) { if (t == null) return ''; return t.length > 80 ? t.slice(0, 79) + '\\u2026' : t; }
  function setField(root, field, text) {
    root.querySelectorAll('[data-field="' + field + '"]').forEach(function (el) {
      el.textContent = text;
      if (field === 'state') el.className = 'state state-' + text;
    });
  }
  function cell(tr, field, text) { var td = document.createElement('td'); td.dataset.field = field; td.textContent = text; tr.appendChild(td); return td; }

  function taskRow(t) {
    var tr = document.createElement('tr');
    tr.dataset.uuid = t.uuid;
    cell(tr, 'name', t.name || '\\u2014');
    var idCell = document.createElement('td');
    var a = document.createElement('a');
    a.href = base + '/task/' + encodeURIComponent(t.uuid);
    a.textContent = t.uuid;
    idCell.appendChild(a); tr.appendChild(idCell);
    var stateCell = document.createElement('td');
    var span = document.createElement('span'); span.dataset.field = 'state';
    stateCell.appendChild(span); tr.appendChild(stateCell);
    ['args', 'kwargs', 'result', 'received', 'runtime', 'worker'].forEach(function (f) { cell(tr, f, ''); });
    return tr;
  }
  function fillTask(root, t) {
    setField(root, 'name', t.name || '\\u2014');
    setField(root, 'state', t.state);
    setField(root, 'args', root.tagName === 'TR' ? clip(t.args) : (t.args || '\\u2014'));
    setField(root, 'kwargs', root.tagName === 'TR' ? clip(t.kwargs) : (t.kwargs || '\\u2014'));
    setField(root, 'result', root.tagName === 'TR' ? clip(t.result || t.exception) : (t.result || '\\u2014'));
    setField(root, 'received', fmtTime(t.received));
    setField(root, 'started', fmtTime(t.started));
    setField(root, 'runtime', fmtRuntime(t.runtime));
    setField(root, 'worker', t.worker || '\\u2014');
  }
  function onTask(t) {
    var table = document.getElementById('tasks');
    if (table) {
      var row = table.querySelector('tr[data-uuid="' + CSS.escape(t.uuid) + '"]');
      if (!row && table.dataset.live === 'true') {
        row = taskRow(t);
        table.tBodies[0].insertBefore(row, table.tBodies[0].firstChild);
        while (table.tBodies[0].rows.length > Number(table.dataset.rows || 100)) table.tBodies[0].deleteRow(-1);
      }
      if (row) fillTask(row, t);
      var pager = document.getElementById('pager');
      if (pager && table.dataset.live === 'true') pager.textContent = table.tBodies[0].rows.length + ' newest (live)';
    }
    var detail = document.querySelector('table.detail[data-uuid]');
    if (detail && detail.dataset.uuid === t.uuid) {
      fillTask(document, t);
      var timeline = document.getElementById('timeline');
      var e = t.lastEvent;
      if (timeline && e && !timeline.querySelector('tr[data-key="' + CSS.escape(e.type + '@' + e.timestamp) + '"]')) {
        var tr = document.createElement('tr');
        tr.dataset.key = e.type + '@' + e.timestamp;
        [e.type, fmtTime(e.timestamp), e.hostname].forEach(function (text) { var td = document.createElement('td'); td.textContent = text; tr.appendChild(td); });
        timeline.tBodies[0].appendChild(tr);
      }
    }
  }
  function setOnline(row, online) {
    var st = row.querySelector('[data-field="status"]');
    st.textContent = online ? 'online' : 'offline';
    st.className = online ? 'online' : 'offline';
  }
  // A worker that goes silent sends no event: expire it here, as the server does (freq x 2).
  setInterval(function () {
    document.querySelectorAll('#workers tr[data-hostname]').forEach(function (row) {
      var expires = Number(row.dataset.expires);
      if (!row.dataset.expires || expires < nowS()) setOnline(row, false);
    });
  }, 1000);
  function onSummary(s) {
    skew = s.now - Date.now() / 1000;
    var set = function (id, v) { var el = document.getElementById(id); if (el) el.textContent = String(v); };
    set('workers-online', s.workersOnline);
    set('workers-offline', s.workersOffline);
    set('events-total', s.events);
    document.querySelectorAll('[data-count]').forEach(function (el) { el.textContent = String(s.states[el.dataset.count] || 0); });
  }
  function onWorker(w) {
    var table = document.getElementById('workers');
    if (!table) return;
    var row = table.querySelector('tr[data-hostname="' + CSS.escape(w.hostname) + '"]');
    if (!row) {
      row = document.createElement('tr');
      row.dataset.hostname = w.hostname;
      var name = document.createElement('td'); name.textContent = w.hostname; row.appendChild(name);
      ['status', 'active', 'processed', 'loadavg', 'software', 'lastHeartbeat'].forEach(function (f) { cell(row, f, ''); });
      table.tBodies[0].appendChild(row);
    }
    row.dataset.expires = w.expires == null ? '' : String(w.expires);
    setOnline(row, w.online);
    setField(row, 'active', w.active == null ? '\\u2014' : String(w.active));
    setField(row, 'processed', w.processed == null ? '\\u2014' : String(w.processed));
    setField(row, 'loadavg', w.loadavg ? w.loadavg.join(', ') : '\\u2014');
    setField(row, 'software', [w.sw_ident, w.sw_ver].filter(Boolean).join(' '));
    setField(row, 'lastHeartbeat', fmtTime(w.lastHeartbeat));
  }

  if (window.EventSource && page !== 'error') {
    var source = new EventSource(base + '/api/events');
    source.onopen = function () { status.textContent = 'live'; status.className = 'live on'; };
    source.onerror = function () { status.textContent = 'reconnecting'; status.className = 'live'; };
    source.addEventListener('task', function (e) { JSON.parse(e.data).forEach(onTask); });
    source.addEventListener('worker', function (e) { JSON.parse(e.data).forEach(onWorker); });
    source.addEventListener('summary', function (e) { onSummary(JSON.parse(e.data)); });
  }

  document.querySelectorAll('form[data-api]').forEach(function (form) {
    form.addEventListener('submit', function (e) {
      e.preventDefault();
      if (form.dataset.confirm && !window.confirm(form.dataset.confirm)) return;
      var out = form.querySelector('output');
      var body = {};
      new FormData(form).forEach(function (v, k) { body[k] = v; });
      fetch(form.dataset.api, {
        method: 'POST', credentials: 'same-origin',
        headers: { 'Content-Type': 'application/json', 'X-CSRF-Token': csrf },
        body: JSON.stringify(body)
      }).then(function (r) { return r.json(); }).then(function (j) {
        if (out) out.textContent = j.error ? j.error.message : (j.message || 'done');
      }, function (err) { if (out) out.textContent = String(err); });
    });
  });
})();
`;

export const MONITOR_CSS = `
:root { --fg: #1d2421; --muted: #5b6660; --line: #d9e0db; --accent: #2f6b3f; --bg: #f7f9f7; }
* { box-sizing: border-box; }
body { margin: 0; font: 14px/1.45 system-ui, sans-serif; color: var(--fg); background: var(--bg); }
header { display: flex; gap: 1.5rem; align-items: center; padding: .6rem 1.2rem; background: #fff; border-bottom: 1px solid var(--line); }
header .brand { font-weight: 700; color: var(--accent); text-decoration: none; }
header nav a { margin-right: 1rem; color: var(--fg); text-decoration: none; }
header nav a.active { font-weight: 700; border-bottom: 2px solid var(--accent); }
header .logout { margin-left: auto; }
.live { font-size: 12px; color: var(--muted); }
.live.on { color: var(--accent); }
main { padding: 1rem 1.2rem; }
h1 { font-size: 1.4rem; margin: .2rem 0 1rem; }
h2 { font-size: 1.1rem; margin: 1.4rem 0 .5rem; }
.cards { display: flex; flex-wrap: wrap; gap: .6rem; }
.card { background: #fff; border: 1px solid var(--line); border-radius: 6px; padding: .6rem .9rem; min-width: 8rem; color: var(--muted); }
.card .n { display: block; font-size: 1.5rem; color: var(--fg); font-weight: 600; }
table { border-collapse: collapse; background: #fff; }
table.list { width: 100%; }
th, td { border-bottom: 1px solid var(--line); padding: .35rem .5rem; text-align: left; vertical-align: top; }
table.list td { max-width: 22rem; overflow-wrap: break-word; }
table.list td[data-field=args], table.list td[data-field=kwargs], table.list td[data-field=result] { overflow-wrap: anywhere; }
h3 { font-size: .9rem; margin: .6rem 0 .2rem; color: var(--muted); }
pre { background: #fff; border: 1px solid var(--line); padding: .6rem; overflow: auto; white-space: pre-wrap; }
.state { white-space: nowrap; padding: .05rem .4rem; border-radius: 4px; background: #e8ece9; font-size: 12px; font-weight: 600; }
.state-SUCCESS { background: #d5f0dc; color: #1f5d2e; }
.state-FAILURE { background: #f7d9d7; color: #8a1f17; }
.state-STARTED { background: #dbe8f8; color: #1c4b80; }
.state-RETRY, .state-REVOKED, .state-REJECTED { background: #f8ecd0; color: #7a5a0c; }
.online { color: #1f5d2e; font-weight: 600; }
.offline { color: #8a1f17; }
.filters { display: flex; flex-wrap: wrap; gap: .6rem; align-items: end; margin-bottom: .6rem; }
.filters label { display: flex; flex-direction: column; font-size: 12px; color: var(--muted); }
.pager a { margin-left: .8rem; }
.controls { display: flex; flex-wrap: wrap; gap: .5rem; margin-top: .6rem; }
button { cursor: pointer; padding: .3rem .7rem; border: 1px solid var(--line); background: #fff; border-radius: 4px; }
button.danger { color: #8a1f17; border-color: #e0b4b0; }
.warning { background: #fde7c2; padding: .6rem 1.2rem; margin: 0; font-weight: 600; }
.error { color: #8a1f17; }
body.login main { max-width: 22rem; margin: 12vh auto; background: #fff; padding: 1.5rem; border: 1px solid var(--line); border-radius: 8px; }
body.login label { display: block; margin-bottom: .8rem; }
body.login input { display: block; width: 100%; padding: .4rem; margin-top: .2rem; }
`;
