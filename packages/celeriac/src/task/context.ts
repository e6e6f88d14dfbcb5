import type { TaskHeaders } from '../protocol/types.ts';

/** What a running task knows about itself (Celery's `self.request`), given to bound tasks. */
export interface TaskContext {
  readonly id: string;
  readonly name: string;
  readonly retries: number;
  readonly args: readonly unknown[];
  readonly kwargs: Readonly<Record<string, unknown>>;
  readonly rootId: string;
  readonly parentId: string | null;
  readonly groupId: string | null;
  readonly eta: string | null;
  readonly expires: string | null;
  /** The node running the task, e.g. `celery@host`. */
  readonly hostname: string;
  readonly deliveryInfo: {
    exchange: string;
    routingKey: string;
    redelivered: boolean;
    priority: number | undefined;
  };
  readonly headers: Readonly<TaskHeaders>;
  /** Fires on revoke with terminate, soft time limit and cold shutdown; pass it to fetch() and friends. */
  readonly signal: AbortSignal;
  /**
   * Republishes this task (same id, `retries + 1`, an `eta`) and returns the Retry to throw:
   * `throw ctx.retry({ countdown: 5, exc: err })`. Throws MaxRetriesExceededError (or `exc`) when
   * retries ran out.
   */
  retry(options?: RetryOptions): Promise<never>;
}

export interface RetryOptions {
  /** Seconds until the retry. (Default: the task's `defaultRetryDelay`) */
  countdown?: number;
  eta?: Date;
  /** The error that caused the retry; stored with the RETRY state and raised when retries run out. */
  exc?: unknown;
  maxRetries?: number | null;
  /** Replace args/kwargs for the retry. */
  args?: unknown[];
  kwargs?: Record<string, unknown>;
  queue?: string;
  priority?: number;
}
