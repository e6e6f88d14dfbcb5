import { html } from 'hono/html';
import type { WorkerInspection } from '../monitor.ts';
import type { ClusterState } from '../state/cluster-state.ts';
import { heartbeatExpires, isAlive, type WorkerRecord } from '../state/worker-state.ts';
import { formatTime, layout, type Html, type PageContext } from './layout.ts';
import {
  controlForm,
  limitControls,
  poolControls,
  workerApi,
  type ControlNotice,
} from './worker-controls.ts';
import {
  activeTasks,
  list,
  record,
  registeredTasks,
  reservedTasks,
  revokedIds,
  scheduledTasks,
  type RegisteredTask,
} from './worker-inspection.ts';
import { BROKER_ORDER, keyValueTable, POOL_ORDER, rusageTable, show, totalsTable } from './worker-stats.ts';
import { heldTaskTable, revokedList } from './worker-tasks.ts';

const LIMIT_FIELDS = ['rate_limit', 'time_limit', 'soft_time_limit'] as const;

function registeredTable(tasks: RegisteredTask[]): Html {
  if (tasks.length === 0) return html`<p class="empty" data-table="registered">Not reported.</p>`;
  return html`<div class="table-scroll">
    <table class="list" data-table="registered">
      <thead>
        <tr>
          <th>Task</th>
          <th>Rate limit</th>
          <th>Time limit (s)</th>
          <th>Soft time limit (s)</th>
        </tr>
      </thead>
      <tbody>
        ${tasks.map(
          (t) =>
            html`<tr data-task="${t.name}">
              <td>${t.name}</td>
              ${LIMIT_FIELDS.map((f) => html`<td data-field="${f}">${t.limits[f] ?? '—'}</td>`)}
            </tr>`,
        )}
      </tbody>
    </table>
  </div>`;
}

function queuesTable(
  ctx: PageContext,
  worker: string,
  info: WorkerInspection | undefined,
  notice?: ControlNotice,
): Html {
  const queues = list(info?.active_queues).map(record);
  if (queues.length === 0) return html`<p class="empty" data-table="queues">Not reported.</p>`;
  return html`<div class="table-scroll">
    <table class="list" data-table="queues">
      <thead>
        <tr>
          <th>Queue</th>
          <th>Exchange</th>
          <th>Routing key</th>
          <th>Durable</th>
          <th>Exclusive</th>
          <th>Auto delete</th>
          <th></th>
        </tr>
      </thead>
      <tbody>
        ${queues.map((q, i) => {
          const name = show(q.name);
          return html`<tr data-queue="${name}">
            <td>${name}</td>
            <td>${show(record(q.exchange).name ?? q.exchange)}</td>
            <td>${show(q.routing_key)}</td>
            <td>${show(q.durable)}</td>
            <td>${show(q.exclusive)}</td>
            <td>${show(q.auto_delete)}</td>
            <td>
              ${controlForm(
                ctx,
                {
                  key: `cancel-consumer-${i}`,
                  action: workerApi(ctx, 'queue/cancel-consumer', worker),
                  worker,
                  notice,
                },
                html`<input type="hidden" name="queue" value="${name}" /><button type="submit">
                    Stop consuming
                  </button>`,
              )}
            </td>
          </tr>`;
        })}
      </tbody>
    </table>
  </div>`;
}

function summary(worker: WorkerRecord, stats: Record<string, unknown>): Html {
  const online = isAlive(worker);
  return html`<table
    class="detail"
    id="worker-summary"
    data-hostname="${worker.hostname}"
    data-expires="${heartbeatExpires(worker) ?? ''}"
  >
    <tr>
      <th>Status</th>
      <td data-field="status" class="${online ? 'online' : 'offline'}">${online ? 'online' : 'offline'}</td>
    </tr>
    <tr>
      <th>Software</th>
      <td>${[worker.sw_ident, worker.sw_ver, worker.sw_sys].filter(Boolean).join(' ') || '—'}</td>
    </tr>
    <tr>
      <th>PID</th>
      <td>${worker.pid ?? show(stats.pid)}</td>
    </tr>
    <tr>
      <th>Active (heartbeat)</th>
      <td data-field="active">${worker.active ?? '—'}</td>
    </tr>
    <tr>
      <th>Processed</th>
      <td data-field="processed">${worker.processed ?? '—'}</td>
    </tr>
    <tr>
      <th>Load</th>
      <td data-field="loadavg">${worker.loadavg?.join(', ') ?? '—'}</td>
    </tr>
    <tr>
      <th>Prefetch count</th>
      <td>${show(stats.prefetch_count)}</td>
    </tr>
    <tr>
      <th>Uptime (s)</th>
      <td>${show(stats.uptime)}</td>
    </tr>
    <tr>
      <th>Last heartbeat (UTC)</th>
      <td data-field="lastHeartbeat">${formatTime(worker.lastHeartbeat)}</td>
    </tr>
    <tr>
      <th>First seen (UTC)</th>
      <td>${formatTime(worker.firstSeen)}</td>
    </tr>
    ${
      worker.offlineAt
        ? html`<tr>
            <th>Went offline (UTC)</th>
            <td>${formatTime(worker.offlineAt)}</td>
          </tr>`
        : ''
    }
  </table>`;
}

/** Flower's worker page: details, the tasks it holds, its limits and every control, for one worker. */
export function workerPage(
  ctx: PageContext,
  state: ClusterState,
  worker: WorkerRecord,
  info: WorkerInspection | undefined,
  notice: ControlNotice | undefined,
): Html {
  const name = worker.hostname;
  const stats = record(info?.stats);
  const autoscaler = record(stats.autoscaler);
  const num = (v: unknown) => (typeof v === 'number' ? v : null);
  const registered = registeredTasks(info);
  const active = activeTasks(info);
  const reserved = reservedTasks(info);
  const scheduled = scheduledTasks(info);
  const revoked = revokedIds(info);
  const online = isAlive(worker);
  return layout(
    ctx,
    `Worker ${name}`,
    'worker',
    html`<p><a href="${ctx.base}/workers">← All workers</a></p>
      ${
        info
          ? html`<p class="note">
              Inspected at ${formatTime(info.at)} UTC.
              <a href="${ctx.base}/worker/${encodeURIComponent(name)}">Refresh</a>
            </p>`
          : html`<p class="warning">
              No reply to inspect (offline, or a worker without remote control): only what its events said is
              shown.
            </p>`
      }
      ${summary(worker, stats)}
      ${
        online
          ? ''
          : controlForm(
              ctx,
              {
                key: 'forget',
                action: workerApi(ctx, 'forget', name),
                worker: name,
                notice,
                confirm: `Forget ${name}? It is listed again only if it sends events again.`,
              },
              html`<button type="submit" class="danger">Forget this worker</button>`,
            )
      }
      <h2 id="pool">Pool</h2>
      ${keyValueTable('pool', stats.pool, POOL_ORDER)}
      ${Object.keys(autoscaler).length ? keyValueTable('autoscaler', autoscaler, ['max', 'min', 'qty']) : ''}
      ${poolControls(
        ctx,
        name,
        notice,
        Object.keys(autoscaler).length ? { max: num(autoscaler.max), min: num(autoscaler.min) } : undefined,
      )}
      <h2 id="queues">Queues</h2>
      ${queuesTable(ctx, name, info, notice)}
      <h2 id="tasks">Tasks</h2>
      <h3>Active (${active.length})</h3>
      ${heldTaskTable(ctx, state, 'active', active)}
      <h3>Reserved (${reserved.length})</h3>
      ${heldTaskTable(ctx, state, 'reserved', reserved)}
      <h3>Scheduled (${scheduled.length})</h3>
      ${heldTaskTable(ctx, state, 'scheduled', scheduled)}
      <h3>Revoked (${revoked.length})</h3>
      ${revokedList(ctx, revoked)}
      <h3>Processed since start</h3>
      ${totalsTable(stats.total)}
      <h2 id="limits">Registered tasks and limits</h2>
      ${registeredTable(registered)} ${limitControls(ctx, name, notice, registered)}
      <h2 id="broker">Broker</h2>
      ${keyValueTable('broker', stats.broker, BROKER_ORDER)}
      <h2 id="system">System (rusage)</h2>
      ${rusageTable(stats.rusage)}
      <details id="conf">
        <summary>Configuration (inspect conf)</summary>
        ${keyValueTable('conf', info?.conf)}
      </details>`,
  );
}
