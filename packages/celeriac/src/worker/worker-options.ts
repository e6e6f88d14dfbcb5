import type { Celeriac } from '../app/celeriac.ts';
import { workerNodename } from '../util/ids.ts';
import type { Logger } from '../util/logger.ts';

export interface WorkerOptions {
  /** Queues to consume. (Default: `[app.conf.defaultQueue]`) */
  queues?: readonly string[];
  /** Tasks run at once. (Default: `app.conf.concurrency`) */
  concurrency?: number;
  /** Node name. (Default: `celery@<host>`; `%h`, `%n`, `%i` expand as in Celery) */
  hostname?: string;
  /** Unacked messages per unit of concurrency; 0 = unlimited. (Default: `app.conf.prefetchMultiplier`) */
  prefetchMultiplier?: number;
  /** Task events (published by the events issue; emitted on `worker.events` now). (Default: `app.conf.sendEvents`) */
  sendEvents?: boolean;
  /** (Default: `app.logger`) */
  logger?: Logger;
  /** How long to keep retrying a result the backend refuses while unreachable. (Default: 30 s) */
  resultStoreRetryMs?: number;
  /** File that keeps the revoked set across restarts (Celery's `--statedb`). (Default: none) */
  statedb?: string;
  /** Sync revoked ids with running workers at start (`hello`, ~1 s). (Default: false; the CLI turns it on) */
  mingle?: boolean;
  /** How long mingle waits for replies. (Default: 1000 ms) */
  mingleTimeoutMs?: number;
  /** Answer remote control (`inspect`, `control`, `status`) on `<hostname>.celery.pidbox`. (Default: false; the CLI turns it on) */
  remoteControl?: boolean;
  /**
   * Publish worker-online, heartbeats every 2 s and worker-offline on `celeryev`, and task events when
   * `sendEvents` is on (what monitors and `celery events` read). (Default: false; the CLI turns it on)
   */
  heartbeat?: boolean;
  /**
   * Where tasks run: `async` (the event loop, for I/O), `threads` (worker threads, for CPU work),
   * `processes` (child processes, full isolation); the last two need `appModule`. (Default: `async`)
   */
  pool?: PoolName;
  /** The module that registers the tasks (the CLI's `-A`), loaded in each pool thread or process. */
  appModule?: string;
  /**
   * Celery's `--max-memory-per-child`, KiB: a child whose memory passed it after a task is replaced
   * (the task completes). Processes pool: the child's resident memory. Threads pool: the thread's
   * heap + external memory; twice the limit (at least 64 MiB) caps its V8 heap, so a task leaking
   * without end fails WorkerLostError there and the thread is replaced.
   */
  maxMemoryPerChildKb?: number;
  /** Threads and processes pools: replace a thread or child after this many tasks (`--max-tasks-per-child`). */
  maxTasksPerChild?: number;
  /**
   * Grow the pool up to `max` while tasks wait, shrink it to `min` when idle (`--autoscale max,min`;
   * every pool). The pool starts at `min`.
   */
  autoscale?: { max: number; min: number; keepaliveMs?: number };
}

export type PoolName = 'async' | 'threads' | 'processes';
export const POOL_NAMES: readonly PoolName[] = ['async', 'threads', 'processes'];

export interface ResolvedWorkerOptions {
  readonly queues: readonly string[];
  readonly concurrency: number;
  readonly hostname: string;
  readonly prefetchMultiplier: number;
  readonly prefetch: number;
  readonly sendEvents: boolean;
  readonly logger: Logger;
  readonly resultStoreRetryMs: number;
  readonly statedb: string | undefined;
  readonly mingle: boolean;
  readonly mingleTimeoutMs: number;
  readonly remoteControl: boolean;
  readonly heartbeat: boolean;
  readonly pool: PoolName;
  readonly appModule: string | undefined;
  readonly maxMemoryPerChildKb: number | undefined;
  readonly maxTasksPerChild: number | undefined;
  readonly autoscale: { max: number; min: number; keepaliveMs: number } | undefined;
}

/** Fills the defaults from the app config once and rejects what cannot work, saying the fix. */
export function resolveWorkerOptions(app: Celeriac, options: WorkerOptions = {}): ResolvedWorkerOptions {
  const queues = options.queues ?? [app.conf.defaultQueue];
  if (
    !Array.isArray(queues) ||
    queues.length === 0 ||
    queues.some((q) => typeof q !== 'string' || q === '')
  ) {
    throw new TypeError(
      `worker queues must be a non-empty list of queue names, got ${JSON.stringify(queues)}`,
    );
  }
  const autoscale = options.autoscale ? { keepaliveMs: 30_000, ...options.autoscale } : undefined;
  if (autoscale) {
    if (!(
      Number.isInteger(autoscale.max) &&
      Number.isInteger(autoscale.min) &&
      autoscale.min >= 1 &&
      autoscale.max >= autoscale.min
    ))
      throw new RangeError(
        `autoscale needs integers max >= min >= 1 (e.g. --autoscale 10,3), got max=${autoscale.max} min=${autoscale.min}`,
      );
  }
  const concurrency = autoscale ? autoscale.min : (options.concurrency ?? app.conf.concurrency);
  if (!Number.isInteger(concurrency) || concurrency < 1) {
    throw new RangeError(`worker concurrency must be a positive integer (e.g. -c 10), got ${concurrency}`);
  }
  const prefetchMultiplier = options.prefetchMultiplier ?? app.conf.prefetchMultiplier;
  if (!Number.isInteger(prefetchMultiplier) || prefetchMultiplier < 0) {
    throw new RangeError(
      `prefetchMultiplier must be a non-negative integer (0 = unlimited), got ${prefetchMultiplier}`,
    );
  }
  const pool = options.pool ?? 'async';
  if (!POOL_NAMES.includes(pool))
    throw new TypeError(`worker pool must be one of ${POOL_NAMES.join(', ')}, got ${JSON.stringify(pool)}`);
  if (pool !== 'async' && !options.appModule)
    throw new TypeError(
      `the ${pool} pool needs appModule: the module that registers the tasks (the CLI passes -A)`,
    );
  const maxTasksPerChild = options.maxTasksPerChild;
  if (maxTasksPerChild !== undefined && !(Number.isInteger(maxTasksPerChild) && maxTasksPerChild > 0))
    throw new RangeError(`maxTasksPerChild must be a positive integer, got ${maxTasksPerChild}`);
  const maxMemoryPerChildKb = options.maxMemoryPerChildKb;
  if (
    maxMemoryPerChildKb !== undefined &&
    !(Number.isInteger(maxMemoryPerChildKb) && maxMemoryPerChildKb > 0)
  )
    throw new RangeError(`maxMemoryPerChildKb must be a positive integer (KiB), got ${maxMemoryPerChildKb}`);
  const resultStoreRetryMs = options.resultStoreRetryMs ?? 30_000;
  if (!(resultStoreRetryMs >= 0))
    throw new RangeError(`resultStoreRetryMs must be >= 0, got ${resultStoreRetryMs}`);
  return Object.freeze({
    queues: Object.freeze([...new Set(queues)]),
    concurrency,
    hostname: workerNodename(options.hostname),
    prefetchMultiplier,
    prefetch: concurrency * prefetchMultiplier,
    sendEvents: options.sendEvents ?? app.conf.sendEvents,
    logger: options.logger ?? app.logger,
    resultStoreRetryMs,
    statedb: options.statedb || undefined,
    mingle: options.mingle ?? false,
    mingleTimeoutMs: options.mingleTimeoutMs ?? 1_000,
    remoteControl: options.remoteControl ?? false,
    heartbeat: options.heartbeat ?? false,
    pool,
    appModule: options.appModule,
    maxMemoryPerChildKb,
    maxTasksPerChild,
    autoscale,
  });
}
