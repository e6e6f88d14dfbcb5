/**
 * A worker as its `worker-*` events describe it (celery/events/state.py `Worker`). Liveness is
 * Celery's rule: alive while `now < last heartbeat received + freq × 2`
 * (`HEARTBEAT_EXPIRE_WINDOW = 200` %), and not alive once `worker-offline` arrived.
 */
export interface WorkerRecord {
  hostname: string;
  pid: number | null;
  /** Seconds between heartbeats, as the worker announced. */
  freq: number;
  /** Tasks running now (heartbeat field). */
  active: number | null;
  processed: number | null;
  loadavg: [number, number, number] | null;
  sw_ident: string | null;
  sw_ver: string | null;
  sw_sys: string | null;
  /** Local receive time of the last heartbeat (epoch seconds), or null after `worker-offline`. */
  lastHeartbeat: number | null;
  /** When the worker was first seen and when it said goodbye (epoch seconds). */
  firstSeen: number;
  offlineAt: number | null;
}

/** celery/events/state.py `HEARTBEAT_EXPIRE_WINDOW`. */
export const HEARTBEAT_EXPIRE_WINDOW = 2;

export function heartbeatExpires(worker: WorkerRecord): number | null {
  if (worker.lastHeartbeat === null) return null;
  return worker.lastHeartbeat + worker.freq * HEARTBEAT_EXPIRE_WINDOW;
}

export function isAlive(worker: WorkerRecord, nowSeconds: number = Date.now() / 1000): boolean {
  const expires = heartbeatExpires(worker);
  return expires !== null && nowSeconds < expires;
}

export function newWorker(hostname: string, now: number): WorkerRecord {
  return {
    hostname,
    pid: null,
    freq: 2,
    active: null,
    processed: null,
    loadavg: null,
    sw_ident: null,
    sw_ver: null,
    sw_sys: null,
    lastHeartbeat: null,
    firstSeen: now,
    offlineAt: null,
  };
}

/** Folds a validated `worker-*` event into the record. */
export function applyWorkerEvent(
  worker: WorkerRecord,
  type: string,
  localReceived: number,
  event: Record<string, unknown>,
): void {
  const num = (key: string): number | undefined => {
    const value = event[key];
    return typeof value === 'number' && Number.isFinite(value) ? value : undefined;
  };
  const str = (key: string): string | undefined => {
    const value = event[key];
    return typeof value === 'string' ? value : undefined;
  };
  const freq = num('freq');
  if (freq !== undefined && freq > 0) worker.freq = freq;
  worker.pid = num('pid') ?? worker.pid;
  worker.active = num('active') ?? worker.active;
  worker.processed = num('processed') ?? worker.processed;
  const loadavg = event.loadavg;
  if (Array.isArray(loadavg) && loadavg.length === 3 && loadavg.every((n) => typeof n === 'number'))
    worker.loadavg = loadavg as [number, number, number];
  worker.sw_ident = str('sw_ident') ?? worker.sw_ident;
  worker.sw_ver = str('sw_ver') ?? worker.sw_ver;
  worker.sw_sys = str('sw_sys') ?? worker.sw_sys;
  if (type === 'worker-offline') {
    worker.lastHeartbeat = null;
    worker.offlineAt = localReceived;
  } else {
    worker.lastHeartbeat = localReceived;
    worker.offlineAt = null;
  }
}
