import type { Celeriac } from '../app/celeriac.ts';
import { workerNodename } from '../util/ids.ts';
import type { Logger } from '../util/logger.ts';

export interface WorkerOptions {
  /** Queues to consume. (Default: `[app.conf.defaultQueue]`) */
  queues?: string[];
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
}

export interface ResolvedWorkerOptions {
  readonly queues: readonly string[];
  readonly concurrency: number;
  readonly hostname: string;
  readonly prefetchMultiplier: number;
  readonly prefetch: number;
  readonly sendEvents: boolean;
  readonly logger: Logger;
  readonly resultStoreRetryMs: number;
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
  const concurrency = options.concurrency ?? app.conf.concurrency;
  if (!Number.isInteger(concurrency) || concurrency < 1) {
    throw new RangeError(`worker concurrency must be a positive integer (e.g. -c 10), got ${concurrency}`);
  }
  const prefetchMultiplier = options.prefetchMultiplier ?? app.conf.prefetchMultiplier;
  if (!Number.isInteger(prefetchMultiplier) || prefetchMultiplier < 0) {
    throw new RangeError(
      `prefetchMultiplier must be a non-negative integer (0 = unlimited), got ${prefetchMultiplier}`,
    );
  }
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
  });
}
