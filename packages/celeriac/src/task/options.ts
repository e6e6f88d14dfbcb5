/** Per-task settings; each falls back to the app config where the app has one. */
export interface TaskOptions {
  /** Pass the task context as the first argument (Celery's `bind=True`). */
  bind?: boolean;
  /**
   * Parameter names in order, so keyword arguments (from Python callers or `applyAsync(args, kwargs)`)
   * map onto positions. A JavaScript function has no reliable parameter names at run time.
   */
  params?: readonly string[];
  /** Queue for this task (unless routes or the caller say otherwise). */
  queue?: string;
  priority?: number;
  /** Retries before failing; null is unlimited. (Default: app's `maxRetries`, 3) */
  maxRetries?: number | null;
  /** Seconds before a retry without a countdown. (Default: app's `defaultRetryDelay`, 180 s) */
  defaultRetryDelay?: number;
  /** Errors that retry the task automatically: classes, or names matched against `error.name`. */
  autoretryFor?: ReadonlyArray<(abstract new (...args: never[]) => Error) | string>;
  /** Exponential back-off for automatic retries: true (1 s base) or the base in seconds. */
  retryBackoff?: boolean | number;
  /** Largest back-off delay in seconds. (Default: 600) */
  retryBackoffMax?: number;
  /** Randomise back-off delays in [0, delay] (full jitter). (Default: true) */
  retryJitter?: boolean;
  acksLate?: boolean;
  rejectOnWorkerLost?: boolean;
  trackStarted?: boolean;
  ignoreResult?: boolean;
  /** Hard time limit in seconds. */
  timeLimit?: number;
  /** Soft time limit in seconds (the task's AbortSignal fires). */
  softTimeLimit?: number;
  /** Rate limit such as `'10/s'`, `'100/m'`, `'1/h'`. */
  rateLimit?: string;
  /** Default expiry in seconds from sending. */
  expires?: number;
}

/** Options of one call (`applyAsync`, `sendTask`); Celery's names in camelCase. */
export interface ApplyOptions {
  /** Seconds from now before the task may run. */
  countdown?: number;
  /** Earliest time to run. */
  eta?: Date | string;
  /** Seconds from now, or a time, after which the task is not run (stored REVOKED). */
  expires?: number | Date | string;
  queue?: string;
  exchange?: string;
  routingKey?: string;
  priority?: number;
  retries?: number;
  taskId?: string;
  headers?: Record<string, unknown>;
  link?: SignatureLike | SignatureLike[];
  linkError?: SignatureLike | SignatureLike[];
  parentId?: string;
  rootId?: string;
  groupId?: string;
  groupIndex?: number;
  shadow?: string;
  /** Hard and soft time limits in seconds for this call. */
  timeLimit?: number;
  softTimeLimit?: number;
  ignoreResult?: boolean;
  replyTo?: string;
  /** Chain steps still to run, in reverse order (wire form). */
  chain?: SignatureLike[];
  /** Chord body (wire form). */
  chord?: SignatureLike;
}

/** A signature object or its wire dict. */
export type SignatureLike =
  { toDict(): import('../protocol/types.ts').SignatureDict } | import('../protocol/types.ts').SignatureDict;
