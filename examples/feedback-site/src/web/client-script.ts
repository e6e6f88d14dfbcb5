import { html, raw } from 'hono/html';

/**
 * The only JavaScript on the site, inline (no build step). It never builds HTML from data:
 * `[data-refresh]` blocks swap in fragments the server rendered (and escaped), and the task page
 * sets `textContent`.
 */
const SCRIPT = `
(() => {
  for (const el of document.querySelectorAll('[data-refresh]')) {
    const every = Number(el.dataset.every || 2000);
    const tick = async () => {
      try {
        const res = await fetch(el.dataset.refresh, { headers: { accept: 'text/html' } });
        const next = res.ok ? await res.text() : null;
        if (next !== null && next !== el.dataset.last) {
          // Keep opened <details> open across the swap.
          const open = [...el.querySelectorAll('details[open][data-mail-id]')].map((d) => d.dataset.mailId);
          el.innerHTML = next;
          el.dataset.last = next;
          for (const d of el.querySelectorAll('details[data-mail-id]')) if (open.includes(d.dataset.mailId)) d.open = true;
        }
      } catch {}
      setTimeout(tick, every);
    };
    setTimeout(tick, every);
  }
  const task = document.querySelector('[data-task-id]');
  if (task) {
    const $ = (name) => task.querySelector('[data-' + name + ']');
    const eta = Number(task.dataset.eta || 0);
    const poll = async () => {
      let done = false;
      try {
        const res = await fetch('/api/tasks/' + encodeURIComponent(task.dataset.taskId));
        const body = await res.json();
        const state = $('state');
        state.textContent = body.state;
        state.className = 'state state-' + body.state;
        $('result').textContent = body.resultText;
        if (body.name) $('name').textContent = body.name;
        done = body.ready;
      } catch {}
      const left = Math.ceil((eta - Date.now()) / 1000);
      $('countdown').textContent = !done && left > 0 ? 'Runs in ' + left + ' s (countdown)' : '';
      if (!done) setTimeout(poll, 500);
    };
    poll();
  }
})();
`;

export function clientScript() {
  return html`<script>
    ${raw(SCRIPT)};
  </script>`;
}
