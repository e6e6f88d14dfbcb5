import { setField, cell } from './fields.ts';
import { clip, formatRuntime, formatTime } from './format.ts';
import { onLive } from './live.ts';
import { basePath } from './page.ts';
import type { LiveTask } from './types.ts';

/** Writes a task's fields into a table row or the detail page. Text only: task data never becomes markup. */
export function fillTask(root: ParentNode, task: LiveTask, whole: boolean): void {
  const cut = (text: string | null) => (whole ? (text ?? '\u2014') : clip(text));
  setField(root, 'name', task.name ?? '\u2014');
  setField(root, 'state', task.state);
  setField(root, 'args', cut(task.args));
  setField(root, 'kwargs', cut(task.kwargs));
  setField(root, 'result', whole ? (task.result ?? '\u2014') : clip(task.result ?? task.exception));
  setField(root, 'received', formatTime(task.received));
  setField(root, 'started', formatTime(task.started));
  setField(root, 'runtime', formatRuntime(task.runtime));
  setField(root, 'worker', task.worker ?? '\u2014');
}

function taskRow(task: LiveTask): HTMLTableRowElement {
  const row = document.createElement('tr');
  row.dataset.uuid = task.uuid;
  cell(row, 'name', '');
  const link = document.createElement('a');
  link.href = `${basePath()}/task/${encodeURIComponent(task.uuid)}`;
  link.textContent = task.uuid;
  row.insertCell().appendChild(link);
  const state = document.createElement('span');
  state.dataset.field = 'state';
  row.insertCell().appendChild(state);
  for (const field of ['args', 'kwargs', 'result', 'received', 'runtime', 'worker']) cell(row, field, '');
  return row;
}

/**
 * Keeps `table#tasks` live: rows already shown are updated; on a live table (first page, no
 * filter) new tasks go on top and the table is trimmed to `data-rows`, so a busy cluster never
 * grows the page. Rows are found through a map, not a selector per task, so a batch of
 * hundreds of updates against a 1,000-row page stays cheap.
 */
export function bindTaskTable(): void {
  const table = document.querySelector<HTMLTableElement>('table#tasks');
  const body = table?.tBodies[0];
  if (!table || !body) return;
  const rows = new Map<string, HTMLTableRowElement>();
  for (const row of Array.from(body.rows)) if (row.dataset.uuid) rows.set(row.dataset.uuid, row);
  const live = table.dataset.live === 'true';
  const cap = Math.max(1, Number(table.dataset.rows) || 100);
  const pager = document.getElementById('pager');

  onLive('task', (tasks) => {
    // A batch larger than the table only needs its newest `cap` new rows.
    const fresh = new Set(tasks.filter((t) => !rows.has(t.uuid)).slice(-cap));
    for (const task of tasks) {
      let row = rows.get(task.uuid);
      if (!row && live && fresh.has(task)) {
        row = taskRow(task);
        body.insertBefore(row, body.firstChild);
        rows.set(task.uuid, row);
      }
      if (row) fillTask(row, task, false);
    }
    if (!live) return;
    while (body.rows.length > cap) {
      const last = body.rows[body.rows.length - 1]!;
      rows.delete(last.dataset.uuid ?? '');
      last.remove();
    }
    if (pager && fresh.size) pager.textContent = `${body.rows.length} newest (live)`;
  });
}
