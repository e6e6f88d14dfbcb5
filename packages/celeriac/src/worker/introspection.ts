import type { Celeriac } from '../app/celeriac.ts';
import type { QueueSpec } from '../transports/transport.ts';

/**
 * What remote control (inspect/control over pidbox, §7) needs from a running worker.
 * The Worker implements it; the mailbox answers Celery's commands from it.
 */
export interface WorkerIntrospection {
  readonly hostname: string;
  readonly app: Celeriac;
  /** Epoch ms the worker started. */
  readonly startedAt: number;
  /** Pool name: `async`, `threads` or `processes`. */
  readonly poolName: string;
  queues(): QueueSpec[];
  /** Tasks running now. */
  active(): RequestInfo[];
  /** Tasks received and waiting for a pool slot. */
  reserved(): RequestInfo[];
  /** Tasks held for their ETA. */
  scheduled(): Array<{ eta: string; priority: number; request: RequestInfo }>;
  /** Ids in the revoked set. */
  revoked(): string[];
  /** Tasks finished since start, by name (`stats.total`). */
  processedTotals(): Record<string, number>;
  concurrency(): number;
  prefetchCount(): number;
  /** Adds ids to the revoked set; with `terminate`, aborts them if running. */
  revoke(ids: string[], options: { terminate: boolean; signal: string }): void;
  /** Starts a warm shutdown. */
  shutdown(): void;
  /** The pool fields of `inspect stats` beyond max-concurrency (a Worker has them). */
  poolStats?(): PoolStats;
}

/** celery/concurrency/prefork.py `_get_info`, the fields a Celeriac pool can fill. */
export interface PoolStats {
  /** Child pids (processes pool), thread ids (threads pool), the worker's pid (async pool). */
  processes: number[];
  'max-tasks-per-child': number | 'N/A';
  /** Celeriac's: early-acked outcomes still being stored after their slot was freed. */
  'pending-result-stores'?: number;
  /** Celeriac's: early-acked outcomes that could not be stored (logged with the task id). */
  'lost-results'?: number;
}

/** A request as `inspect active/reserved` shows it (celery/worker/request.py `info`). */
export interface RequestInfo {
  id: string;
  name: string;
  args: unknown;
  kwargs: unknown;
  type: string;
  hostname: string;
  time_start: number | null;
  acknowledged: boolean;
  delivery_info: { exchange: string; routing_key: string; priority: number | null; redelivered: boolean };
  worker_pid: number | null;
}

/**
 * What the run-time control commands (`rate_limit`, `time_limit`, `pool_grow`, ...) need beyond
 * WorkerIntrospection. The Worker implements it; a worker that does not answers `{error}`.
 */
export interface WorkerRuntimeControl {
  /** Throws RateLimitError for a string that does not parse, UnknownTaskError for an unknown task. */
  setRateLimit(taskName: string, limit: unknown): void;
  /** Seconds, null for none; throws UnknownTaskError, RangeError. */
  setTimeLimits(taskName: string, limits: { soft: number | null; hard: number | null }): void;
}

export function hasRuntimeControl(
  worker: WorkerIntrospection,
): worker is WorkerIntrospection & WorkerRuntimeControl {
  return typeof (worker as Partial<WorkerRuntimeControl>).setRateLimit === 'function';
}

/** pool_grow/pool_shrink and add_consumer/cancel_consumer (the Worker implements them). */
export interface WorkerPoolControl {
  /** Returns the new concurrency; throws PoolResizeError. */
  resizePool(delta: number): number;
  addConsumer(spec: QueueSpec): Promise<boolean>;
  cancelConsumer(queue: string): Promise<boolean>;
  /** Present when the worker runs with `autoscale`. */
  readonly autoscaler?: { max: number; min: number; update(max: number, min: number): void };
}

export function hasPoolControl(
  worker: WorkerIntrospection,
): worker is WorkerIntrospection & WorkerPoolControl {
  return typeof (worker as Partial<WorkerPoolControl>).resizePool === 'function';
}
