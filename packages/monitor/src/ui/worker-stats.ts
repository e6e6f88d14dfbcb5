import { html } from 'hono/html';
import type { Html } from './layout.ts';
import { record } from './worker-inspection.ts';

/** A value from a worker's reply as text: lists joined, objects as JSON, nothing as a dash. */
export function show(value: unknown): string {
  if (value === undefined || value === null || value === '') return '—';
  if (Array.isArray(value)) return value.length ? value.map((v) => show(v)).join(', ') : '—';
  if (typeof value === 'object')
    return (
      Object.entries(value)
        .map(([k, v]) => `${k}=${typeof v === 'object' && v !== null ? JSON.stringify(v) : show(v)}`)
        .join(', ') || '—'
    );
  // rusage times come as 0.49447399999999997: six significant digits are plenty.
  if (typeof value === 'number' && !Number.isInteger(value)) return String(Number(value.toPrecision(6)));
  return String(value);
}

/** Field names as people read them: `max-concurrency` → "max concurrency". */
function label(key: string): string {
  return key.replace(/[-_]/g, ' ');
}

/** A key/value table of one part of `inspect stats` or `conf` (every value escaped). */
export function keyValueTable(name: string, value: unknown, order: string[] = []): Html {
  const r = record(value);
  const keys = [
    ...order.filter((k) => k in r),
    ...Object.keys(r)
      .filter((k) => !order.includes(k))
      .sort(),
  ];
  if (keys.length === 0) return html`<p class="empty" data-table="${name}">Not reported.</p>`;
  return html`<table class="detail" data-table="${name}">
    ${keys.map(
      (k) =>
        html`<tr data-key="${k}">
          <th>${label(k)}</th>
          <td>${show(r[k])}</td>
        </tr>`,
    )}
  </table>`;
}

/** `getrusage` fields with their units (seconds, KiB). */
const RUSAGE_UNITS: Record<string, string> = { utime: 's', stime: 's', maxrss: 'KiB' };

export function rusageTable(value: unknown): Html {
  const r = record(value);
  const keys = Object.keys(r).sort();
  if (keys.length === 0) return html`<p class="empty" data-table="rusage">Not reported.</p>`;
  return html`<table class="detail" data-table="rusage">
    ${keys.map(
      (k) =>
        html`<tr data-key="${k}">
          <th>${k}</th>
          <td>${show(r[k])}${RUSAGE_UNITS[k] ? ` ${RUSAGE_UNITS[k]}` : ''}</td>
        </tr>`,
    )}
  </table>`;
}

/** `stats.total`: tasks processed since the worker started, by name, most first. */
export function totalsTable(value: unknown): Html {
  const rows = Object.entries(record(value))
    .filter((e): e is [string, number] => typeof e[1] === 'number')
    .sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0]));
  if (rows.length === 0) return html`<p class="empty" data-table="total">No tasks processed yet.</p>`;
  return html`<table class="list" data-table="total">
    <thead>
      <tr>
        <th>Task</th>
        <th>Processed</th>
      </tr>
    </thead>
    <tbody>
      ${rows.map(
        ([name, n]) =>
          html`<tr data-key="${name}">
            <td>${name}</td>
            <td>${n}</td>
          </tr>`,
      )}
    </tbody>
  </table>`;
}

export const POOL_ORDER = [
  'implementation',
  'max-concurrency',
  'processes',
  'max-tasks-per-child',
  'put-guarded-by-semaphore',
  'timeouts',
  'writes',
];

export const BROKER_ORDER = ['transport', 'hostname', 'port', 'userid', 'virtual_host', 'ssl', 'heartbeat'];
