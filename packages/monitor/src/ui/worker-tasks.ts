import { html } from 'hono/html';
import type { ClusterState } from '../state/cluster-state.ts';
import { clip, formatTime, type Html, type PageContext } from './layout.ts';
import type { HeldTask } from './worker-inspection.ts';

/** Python's `time_start` can be a monotonic clock reading; only an epoch time is shown as a date. */
function startedAt(task: HeldTask, state: ClusterState): string {
  const fromEvents = state.task(task.id)?.started;
  if (typeof fromEvents === 'number') return formatTime(fromEvents);
  return task.timeStart !== null && task.timeStart > 1e9 ? formatTime(task.timeStart) : '—';
}

/**
 * The tasks a worker holds (Flower's "Tasks" tab): id linking to the task page, name, args
 * clipped, and when it started (active) or is due (scheduled).
 */
export function heldTaskTable(
  ctx: PageContext,
  state: ClusterState,
  kind: 'active' | 'reserved' | 'scheduled',
  tasks: HeldTask[],
): Html {
  if (tasks.length === 0) return html`<p class="empty" data-list="${kind}">None.</p>`;
  return html`<div class="table-scroll">
    <table class="list held-tasks" data-list="${kind}">
      <thead>
        <tr>
          <th>UUID</th>
          <th>Name</th>
          <th>args</th>
          <th>kwargs</th>
          ${
            kind === 'active'
              ? html`<th>Started (UTC)</th>
                  <th>PID</th>
                  <th>Acknowledged</th>`
              : ''
          }
          ${
            kind === 'scheduled'
              ? html`<th>ETA</th>
                  <th>Priority</th>`
              : ''
          }
        </tr>
      </thead>
      <tbody>
        ${tasks.map(
          (t) =>
            html`<tr data-uuid="${t.id}">
              <td><a href="${ctx.base}/task/${encodeURIComponent(t.id)}">${t.id}</a></td>
              <td>${t.name || '—'}</td>
              <td>${clip(t.args)}</td>
              <td>${clip(t.kwargs)}</td>
              ${
                kind === 'active'
                  ? html`<td>${startedAt(t, state)}</td>
                      <td>${t.workerPid ?? '—'}</td>
                      <td>${t.acknowledged === null ? '—' : t.acknowledged ? 'yes' : 'no'}</td>`
                  : ''
              }
              ${
                kind === 'scheduled'
                  ? html`<td>${t.eta ?? '—'}</td>
                      <td>${t.priority ?? '—'}</td>`
                  : ''
              }
            </tr>`,
        )}
      </tbody>
    </table>
  </div>`;
}

/** Revoked ids (the worker keeps up to 50 000; the page shows the first 200). */
export function revokedList(ctx: PageContext, ids: string[]): Html {
  if (ids.length === 0) return html`<p class="empty" data-list="revoked">None.</p>`;
  const shown = ids.slice(0, 200);
  return html`<ul class="revoked" data-list="revoked">
      ${shown.map((id) => html`<li><a href="${ctx.base}/task/${encodeURIComponent(id)}">${id}</a></li>`)}
    </ul>
    ${ids.length > shown.length ? html`<p>and ${ids.length - shown.length} more.</p>` : ''}`;
}
