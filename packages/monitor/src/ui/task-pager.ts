import { html } from 'hono/html';
import type { TaskPage, TaskQuery } from '../state/task-query.ts';
import type { Html, PageContext } from './layout.ts';

/**
 * "1–100 of more than 10,000 · ← newer · older →" for the Tasks page. Over the history the links
 * carry keyset cursors (`after` / `before`), so the 1,000th page costs what the first does; from
 * memory they carry offsets.
 */
export function taskPager(ctx: PageContext, query: TaskQuery, page: TaskPage): Html {
  const link = (set: Record<string, string>) => {
    const p = new URLSearchParams();
    for (const key of ['state', 'taskname', 'workername', 'search', 'sort_by'] as const)
      if (query[key] && !(key === 'sort_by' && query.sort_by === '-timestamp')) p.set(key, query[key]);
    if (query.received_start !== undefined) p.set('received_start', String(query.received_start));
    if (query.received_end !== undefined) p.set('received_end', String(query.received_end));
    p.set('limit', String(query.limit));
    for (const [k, v] of Object.entries(set)) p.set(k, v);
    return `${ctx.base}/tasks?${p}`;
  };
  const total = page.totalCapped
    ? `more than ${page.total.toLocaleString('en')}`
    : page.total.toLocaleString('en');
  const keyset = page.source === 'history';
  const atStart = keyset ? !query.after && !query.before && page.offset === 0 : page.offset === 0;
  const shown = page.tasks.length;
  const range = atStart || !keyset ? `${page.offset + 1}–${page.offset + shown}` : `${shown} tasks`;
  const newer = keyset
    ? page.prev && html`<a rel="prev" href="${link({ before: page.prev })}">← newer</a>`
    : page.offset > 0 &&
      html`<a rel="prev" href="${link({ offset: String(Math.max(0, page.offset - page.limit)) })}"
        >← newer</a
      >`;
  const older = keyset
    ? page.next && html`<a rel="next" href="${link({ after: page.next })}">older →</a>`
    : page.offset + shown < page.total &&
      html`<a rel="next" href="${link({ offset: String(page.offset + page.limit) })}">older →</a>`;
  return html`<p class="pager" id="pager" data-source="${page.source ?? 'memory'}">
    ${shown === 0 ? 'No tasks' : `${range} of ${total}`}
    ${
      page.searchWindowFull
        ? html`<span class="note"
            >(searched ${page.searchWindowFull.toLocaleString('en')} tasks; older → searches on)</span
          >`
        : ''
    }
    ${atStart ? '' : html`<a href="${link({})}">newest</a>`} ${newer || ''} ${older || ''}
  </p>`;
}
