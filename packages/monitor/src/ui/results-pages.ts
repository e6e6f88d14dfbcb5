import type { ResultPage, StoredResult } from 'celeriac';
import { html } from 'hono/html';
import { argsText, type ResultQuery } from '../results/result-browser.ts';
import { clip, layout, type Html, type PageContext } from './layout.ts';

const STATES = ['PENDING', 'RECEIVED', 'STARTED', 'SUCCESS', 'FAILURE', 'RETRY', 'REVOKED'];

/** `2026-11-24 07:30:00.123` (UTC) from epoch ms. */
function utc(ms: number | null | undefined): string {
  if (ms === null || ms === undefined || !Number.isFinite(ms)) return '—';
  return new Date(ms).toISOString().replace('T', ' ').replace('Z', '');
}

/** Celery's naive-UTC `date_done` as shown elsewhere on the page. */
function done(dateDone: string | null | undefined): string {
  return dateDone ? dateDone.replace('T', ' ').replace(/\d{3}$/, '') : '—';
}

/** A form's datetime-local value (UTC) from epoch ms. */
function localInput(ms: number | undefined): string {
  return ms === undefined ? '' : new Date(ms).toISOString().slice(0, 19);
}

function totalText(total: ResultPage['total']): string {
  const n = total.count.toLocaleString('en');
  if (total.kind === 'exact') return `${n} result${total.count === 1 ? '' : 's'}`;
  if (total.kind === 'estimate') return `about ${n} results`;
  return `more than ${n} results`;
}

export function resultsUnavailablePage(ctx: PageContext, message: string): Html {
  return layout(ctx, 'Results', 'results', html`<p class="notice" id="results-unavailable">${message}</p>`);
}

export function resultsListPage(
  ctx: PageContext,
  query: ResultQuery,
  page: ResultPage,
  notice: string | undefined,
): Html {
  const link = (cursor: string | undefined) => {
    const p = new URLSearchParams();
    if (query.state) p.set('state', query.state.join(','));
    if (query.taskname) p.set('taskname', query.taskname);
    if (query.search) p.set('search', query.search);
    if (query.date_from !== undefined) p.set('date_from', localInput(query.date_from));
    if (query.date_to !== undefined) p.set('date_to', localInput(query.date_to));
    if (query.limit !== 50) p.set('limit', String(query.limit));
    if (cursor) p.set('cursor', cursor);
    const text = p.toString();
    return `${ctx.base}/results${text ? `?${text}` : ''}`;
  };
  const selected = query.state?.length === 1 ? query.state[0] : '';
  return layout(
    ctx,
    'Results',
    'results',
    html`${notice ? html`<p class="notice" role="status">${notice}</p>` : ''}
      <form class="filters" method="get" action="${ctx.base}/results">
        <label
          >State
          <select name="state">
            <option value="">any</option>
            ${STATES.map((s) => html`<option ${selected === s ? 'selected' : ''}>${s}</option>`)}
          </select></label
        >
        <label>Task name <input name="taskname" value="${query.taskname ?? ''}" /></label>
        <label>Search (id, args) <input name="search" value="${query.search ?? ''}" /></label>
        <label
          >Created from (UTC)
          <input name="date_from" type="datetime-local" step="1" value="${localInput(query.date_from)}"
        /></label>
        <label
          >to <input name="date_to" type="datetime-local" step="1" value="${localInput(query.date_to)}"
        /></label>
        <button type="submit">Filter</button>
      </form>
      <p class="pager" id="results-pager">
        <span id="results-total">${totalText(page.total)}</span>
        ${query.cursor ? html`<a href="${link(undefined)}">← newest</a>` : ''}
        ${page.next ? html`<a href="${link(page.next)}" rel="next">older →</a>` : ''}
      </p>
      <div class="table-scroll">
        <table class="list" id="results">
          <thead>
            <tr>
              <th>Task id</th>
              <th>Task name</th>
              <th>State</th>
              <th>Date done (UTC)</th>
              <th>Created (UTC)</th>
              <th>Worker</th>
              <th>Args</th>
            </tr>
          </thead>
          <tbody>
            ${
              page.results.length === 0
                ? html`<tr>
                    <td colspan="7">No stored results match.</td>
                  </tr>`
                : page.results.map((r) => resultRow(ctx, r))
            }
          </tbody>
        </table>
      </div>`,
  );
}

function resultRow(ctx: PageContext, r: StoredResult): Html {
  return html`<tr data-task-id="${r.task_id}">
    <td><a href="${ctx.base}/results/${encodeURIComponent(r.task_id)}">${r.task_id}</a></td>
    <td data-field="name">${r.name ?? '—'}</td>
    <td><span class="state state-${r.status}" data-field="state">${r.status}</span></td>
    <td>${done(r.date_done)}</td>
    <td>${utc(r.created_at_ms)}</td>
    <td>${r.worker ?? '—'}</td>
    <td data-field="args">${clip(argsText(r.args_repr, r.args))}</td>
  </tr>`;
}

function pretty(value: unknown): string {
  if (value === null || value === undefined) return '—';
  return typeof value === 'string' ? value : JSON.stringify(value, null, 2);
}

export function resultDetailPage(ctx: PageContext, r: StoredResult): Html {
  const row = (label: string, field: string, value: unknown) =>
    html`<tr>
      <th>${label}</th>
      <td data-field="${field}">
        ${value === null || value === undefined || value === '' ? '—' : String(value)}
      </td>
    </tr>`;
  const meta = r.meta ?? {
    children: r.children,
    parent_id: r.parent_id,
    group_id: r.group_id,
    root_id: r.root_id,
    queue: r.queue,
    retries: r.retries,
  };
  return layout(
    ctx,
    `Result ${r.task_id}`,
    'results',
    html`<p><a href="${ctx.base}/results">← all results</a></p>
      <table class="detail" data-task-id="${r.task_id}">
        ${row('Task id', 'task_id', r.task_id)} ${row('Task name', 'name', r.name)}
        <tr>
          <th>State</th>
          <td><span class="state state-${r.status}" data-field="state">${r.status}</span></td>
        </tr>
        ${row('Worker', 'worker', r.worker)} ${row('Date done (UTC)', 'date_done', done(r.date_done))}
        ${row('Created (UTC)', 'created', utc(r.created_at_ms))}
        ${row('Last written (UTC)', 'updated', utc(r.updated_at_ms))}
        ${row('Periodic task', 'periodic_task_name', r.periodic_task_name)}
      </table>
      <h2>Result</h2>
      <pre data-field="result">${pretty(r.result)}</pre>
      ${
        r.traceback
          ? html`<h2>Traceback</h2>
              <pre data-field="traceback">${r.traceback}</pre>`
          : ''
      }
      <h2>Arguments</h2>
      <h3>args</h3>
      <pre data-field="args">${argsText(r.args_repr, r.args) ?? '—'}</pre>
      <h3>kwargs</h3>
      <pre data-field="kwargs">${argsText(r.kwargs_repr, r.kwargs) ?? '—'}</pre>
      <h2>Meta</h2>
      <pre data-field="meta">${pretty(meta)}</pre>
      <h2>Delete</h2>
      <form
        method="post"
        action="${ctx.base}/results/${encodeURIComponent(r.task_id)}/delete"
        class="control"
      >
        <input type="hidden" name="_csrf" value="${ctx.csrf}" />
        <button type="submit" id="delete-result">Delete this result</button>
      </form>`,
  );
}
