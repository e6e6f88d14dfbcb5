import { html } from 'hono/html';
import type { QueueRow, QueueSnapshot } from '../queues/queue-monitor.ts';
import { layout, type Html, type PageContext } from './layout.ts';

const SOURCES: Record<string, string> = {
  default: 'default queue',
  declared: 'declared by the app',
  worker: 'consumed by a worker',
  requested: 'added by name',
};

function count(n: number | null | undefined): string {
  return n === null || n === undefined ? '—' : n.toLocaleString('en');
}

function rate(n: number | null | undefined): string {
  if (n === null || n === undefined) return '—';
  const fixed = Math.abs(n) < 10 ? n.toFixed(2) : n.toFixed(0);
  return `${n > 0 ? '+' : ''}${fixed}/s`;
}

/** The Queues page: one row per queue (`tr[data-queue]`), a form to watch another queue by name. */
export function queuesPage(
  ctx: PageContext,
  snapshot: QueueSnapshot | undefined,
  asked: string[],
  problem?: string,
): Html {
  const managed = snapshot?.queues.some((q) => q.publishRate !== undefined) ?? false;
  return layout(
    ctx,
    'Queues',
    'queues',
    html`${problem ? html`<p class="error" role="alert" id="queues-problem">${problem}</p>` : ''}
      <form class="filters" method="get" action="${ctx.base}/queues">
        ${asked.map((name) => html`<input type="hidden" name="queue" value="${name}" />`)}
        <label>Watch a queue by name <input name="queue" maxlength="255" /></label>
        <button type="submit">Show</button>
      </form>
      ${
        snapshot
          ? html`<div class="table-scroll">
                <table class="list" id="queues">
                  <thead>
                    <tr>
                      <th>Queue</th>
                      <th>Ready</th>
                      <th>Unacked</th>
                      <th>Consumers</th>
                      <th>Workers</th>
                      <th title="change of ready + unacked per second over the last minute of samples">
                        Backlog trend
                      </th>
                      ${
                        managed
                          ? html`<th>Publish</th>
                              <th>Deliver</th>`
                          : ''
                      }
                      <th>Listed because</th>
                    </tr>
                  </thead>
                  <tbody>
                    ${snapshot.queues.map((q) => queueRow(q, managed))}
                  </tbody>
                </table>
              </div>
              <p class="muted" id="queues-source">
                ${snapshot.describes}. As of
                ${new Date(snapshot.at).toISOString().replace('T', ' ').slice(0, 19)} UTC; reload for fresh
                counts.
              </p>`
          : ''
      }`,
  );
}

function queueRow(q: QueueRow, managed: boolean): Html {
  const why = q.sources.map((s) => SOURCES[s] ?? s).join(', ');
  if (!q.exists) {
    return html`<tr data-queue="${q.name}" data-exists="false">
      <td>${q.name}</td>
      <td colspan="${managed ? 7 : 5}" data-field="ready" class="muted">does not exist on the broker</td>
      <td>${why}</td>
    </tr>`;
  }
  return html`<tr data-queue="${q.name}" data-exists="true">
    <td>${q.name}</td>
    <td data-field="ready">${count(q.ready)}</td>
    <td data-field="unacked">${count(q.unacked)}</td>
    <td data-field="consumers">${count(q.consumers ?? (q.workers.length || null))}</td>
    <td data-field="workers">${q.workers.join(', ') || '—'}</td>
    <td
      data-field="trend"
      title="${q.trend === null ? 'needs samples a few seconds apart' : `over ${q.trendSeconds} s`}"
    >
      ${rate(q.trend)}
    </td>
    ${
      managed
        ? html`<td data-field="publish">${rate(q.publishRate)}</td>
            <td data-field="deliver">${rate(q.deliverRate)}</td>`
        : ''
    }
    <td>${why}</td>
  </tr>`;
}
