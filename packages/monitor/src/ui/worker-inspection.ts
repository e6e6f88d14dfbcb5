import type { WorkerInspection } from '../monitor.ts';

/**
 * Readers for a worker's inspect replies. They come from any worker on the broker (Celeriac,
 * Python Celery, something foreign), so every field is checked before use and a wrong shape reads
 * as "nothing" rather than breaking the page.
 */
export function record(value: unknown): Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
    ? (value as Record<string, unknown>)
    : {};
}

export function list(value: unknown): unknown[] {
  return Array.isArray(value) ? value : [];
}

/** A task the worker holds, as `inspect active/reserved/scheduled` describes it. */
export interface HeldTask {
  id: string;
  name: string;
  args: string;
  kwargs: string;
  /** `time_start` (epoch seconds) for active tasks. */
  timeStart: number | null;
  workerPid: number | null;
  acknowledged: boolean | null;
  /** Scheduled tasks only. */
  eta: string | null;
  priority: number | null;
}

/** Python workers send args as a repr string (`safe=True`) or a list; ours send the list. */
function repr(value: unknown): string {
  if (value === undefined || value === null) return '';
  return typeof value === 'string' ? value : JSON.stringify(value);
}

function heldTask(raw: unknown, extra: { eta?: unknown; priority?: unknown } = {}): HeldTask | undefined {
  const r = record(raw);
  if (typeof r.id !== 'string' || r.id === '') return undefined;
  const num = (v: unknown) => (typeof v === 'number' && Number.isFinite(v) ? v : null);
  return {
    id: r.id,
    name: typeof r.name === 'string' ? r.name : '',
    args: repr(r.args),
    kwargs: repr(r.kwargs),
    timeStart: num(r.time_start),
    workerPid: num(r.worker_pid),
    acknowledged: typeof r.acknowledged === 'boolean' ? r.acknowledged : null,
    eta: typeof extra.eta === 'string' ? extra.eta : null,
    priority: num(extra.priority),
  };
}

export function activeTasks(info: WorkerInspection | undefined): HeldTask[] {
  return list(info?.active).flatMap((t) => heldTask(t) ?? []);
}

export function reservedTasks(info: WorkerInspection | undefined): HeldTask[] {
  return list(info?.reserved).flatMap((t) => heldTask(t) ?? []);
}

/** `inspect scheduled` entries: `{ eta, priority, request }`. */
export function scheduledTasks(info: WorkerInspection | undefined): HeldTask[] {
  return list(info?.scheduled).flatMap((entry) => {
    const e = record(entry);
    return heldTask(e.request, { eta: e.eta, priority: e.priority }) ?? [];
  });
}

export function revokedIds(info: WorkerInspection | undefined): string[] {
  return list(info?.revoked).filter((id): id is string => typeof id === 'string');
}

/** A registered task and the limits the worker reported for it (`name [rate_limit=10/m time_limit=30]`). */
export interface RegisteredTask {
  name: string;
  limits: Record<string, string>;
}

export function registeredTasks(info: WorkerInspection | undefined): RegisteredTask[] {
  return list(info?.registered).flatMap((entry) => {
    if (typeof entry !== 'string' || entry === '') return [];
    const match = /^(\S+)(?: \[(.*)\])?$/.exec(entry);
    if (!match) return [{ name: entry, limits: {} }];
    const limits: Record<string, string> = {};
    for (const pair of (match[2] ?? '').split(' ')) {
      const at = pair.indexOf('=');
      if (at > 0) limits[pair.slice(0, at)] = pair.slice(at + 1);
    }
    return [{ name: match[1]!, limits }];
  });
}

export function queueNames(info: WorkerInspection | undefined): string[] {
  return list(info?.active_queues).flatMap((q) => {
    const name = record(q).name;
    return typeof name === 'string' ? [name] : [];
  });
}
