import { html } from 'hono/html';
import type { WorkerInspection } from '../monitor.ts';
import { heartbeatExpires, isAlive, type WorkerRecord } from '../state/worker-state.ts';
import { workerCharts } from './charts.ts';
import { formatTime, layout, type Html, type PageContext } from './layout.ts';
import {
  activeTasks,
  queueNames,
  record,
  registeredTasks,
  reservedTasks,
  scheduledTasks,
} from './worker-inspection.ts';
import { show } from './worker-stats.ts';

export function workerPath(ctx: PageContext, hostname: string): string {
  return `${ctx.base}/worker/${encodeURIComponent(hostname)}`;
}

/** The Workers page: the live table, charts, and a summary per worker linking to its own page. */
export function workersPage(
  ctx: PageContext,
  workers: WorkerRecord[],
  inspections: Map<string, WorkerInspection>,
  options: { hideOffline: boolean; forgot?: string },
): Html {
  const shown = options.hideOffline ? workers.filter((w) => isAlive(w)) : workers;
  const hidden = workers.length - shown.length;
  const toggle = options.hideOffline
    ? html`<a href="${ctx.base}/workers" id="offline-toggle">Show offline workers (${hidden} hidden)</a>`
    : html`<a href="${ctx.base}/workers?offline=hide" id="offline-toggle">Hide offline workers</a>`;
  return layout(
    ctx,
    'Workers',
    'workers',
    html`${options.forgot ? html`<p class="notice" role="status">${options.forgot}.</p>` : ''}
      <p class="filters">${toggle}</p>
      ${workerTable(ctx, shown)} ${workerCharts()}
      ${shown.map((w) => workerSummary(ctx, w, inspections.get(w.hostname)))}`,
  );
}

function workerSummary(ctx: PageContext, worker: WorkerRecord, info: WorkerInspection | undefined): Html {
  const stats = record(info?.stats);
  const pool = record(stats.pool);
  return html`<section class="worker" data-hostname="${worker.hostname}">
    <h2><a href="${workerPath(ctx, worker.hostname)}">${worker.hostname}</a></h2>
    ${info ? '' : html`<p>No reply to inspect (offline, or a worker without remote control).</p>`}
    <table class="detail">
      <tr>
        <th>Pool</th>
        <td>${show(pool.implementation)}</td>
      </tr>
      <tr>
        <th>Concurrency</th>
        <td>${show(pool['max-concurrency'])}</td>
      </tr>
      <tr>
        <th>Prefetch count</th>
        <td>${show(stats.prefetch_count)}</td>
      </tr>
      <tr>
        <th>Queues</th>
        <td>${queueNames(info).join(', ') || '—'}</td>
      </tr>
      <tr>
        <th>Registered</th>
        <td>
          ${
            registeredTasks(info)
              .map((t) => t.name)
              .join(', ') || '—'
          }
        </td>
      </tr>
      <tr>
        <th>Active</th>
        <td>${activeTasks(info).length}</td>
      </tr>
      <tr>
        <th>Reserved</th>
        <td>${reservedTasks(info).length}</td>
      </tr>
      <tr>
        <th>Scheduled</th>
        <td>${scheduledTasks(info).length}</td>
      </tr>
    </table>
    <p><a href="${workerPath(ctx, worker.hostname)}">Tasks, limits and controls →</a></p>
  </section>`;
}

/** The workers table (dashboard and Workers page), kept live by the client's worker table. */
export function workerTable(ctx: PageContext, workers: WorkerRecord[]): Html {
  return html`<div class="table-scroll">
    <table class="list" id="workers">
      <thead>
        <tr>
          <th>Worker</th>
          <th>Status</th>
          <th>Active</th>
          <th>Processed</th>
          <th>Load</th>
          <th>Software</th>
          <th>Last heartbeat (UTC)</th>
        </tr>
      </thead>
      <tbody>
        ${workers.map((w) => {
          const online = isAlive(w);
          const expires = heartbeatExpires(w);
          return html`<tr data-hostname="${w.hostname}" data-expires="${expires ?? ''}">
            <td><a href="${workerPath(ctx, w.hostname)}">${w.hostname}</a></td>
            <td data-field="status" class="${online ? 'online' : 'offline'}">
              ${online ? 'online' : 'offline'}
            </td>
            <td data-field="active">${w.active ?? '—'}</td>
            <td data-field="processed">${w.processed ?? '—'}</td>
            <td data-field="loadavg">${w.loadavg?.join(', ') ?? '—'}</td>
            <td data-field="software">${[w.sw_ident, w.sw_ver].filter(Boolean).join(' ')}</td>
            <td data-field="lastHeartbeat">${formatTime(w.lastHeartbeat)}</td>
          </tr>`;
        })}
      </tbody>
    </table>
  </div>`;
}
