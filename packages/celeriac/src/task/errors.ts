/**
 * Control flow a task means (celery/exceptions.py): throw these from a task body.
 * Each has a stable `code` and keeps Celery's class name, which is what Python peers see:
 * `excType`/`excModule` are what `toExceptionInfo` stores, so Python rebuilds `celery.exceptions.<Name>`.
 */

/** Thrown by `ctx.retry()`: the task was republished and this run ends in RETRY. */
export class Retry extends Error {
  readonly excType = 'Retry';
  readonly excModule = 'celery.exceptions';
  readonly code = 'RETRY';
  constructor(
    readonly reason: unknown,
    readonly etaMs: number,
  ) {
    super(
      reason instanceof Error
        ? `Retry in ${Math.round((etaMs - Date.now()) / 1000)}s: ${reason.message}`
        : 'Retry',
    );
    this.name = 'Retry';
  }
}

/** Reject the message: requeue it, or drop it (to the dead-letter exchange if the queue has one). */
export class Reject extends Error {
  readonly excType = 'Reject';
  readonly excModule = 'celery.exceptions';
  readonly code = 'REJECT';
  constructor(
    readonly reason?: string,
    readonly requeue = false,
  ) {
    super(reason ?? 'rejected');
    this.name = 'Reject';
  }
}

/** End the task without storing any state (ack, no result). */
export class Ignore extends Error {
  readonly excType = 'Ignore';
  readonly excModule = 'celery.exceptions';
  readonly code = 'IGNORE';
  constructor(reason?: string) {
    super(reason ?? 'ignored');
    this.name = 'Ignore';
  }
}

/** Retries ran out. */
export class MaxRetriesExceededError extends Error {
  readonly excType = 'MaxRetriesExceededError';
  readonly excModule = 'celery.exceptions';
  readonly code = 'MAX_RETRIES_EXCEEDED';
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'MaxRetriesExceededError';
  }
}

/** A message named a task this worker does not know (stored as FAILURE, as Celery does). */
export class NotRegistered extends Error {
  readonly excType = 'NotRegistered';
  readonly excModule = 'celery.exceptions';
  readonly code = 'NOT_REGISTERED';
  constructor(readonly taskName: string) {
    super(taskName);
    this.name = 'NotRegistered';
  }
}

/** The soft time limit passed: the task's AbortSignal fired with this reason. */
export class SoftTimeLimitExceeded extends Error {
  readonly excType = 'SoftTimeLimitExceeded';
  readonly excModule = 'celery.exceptions';
  readonly code = 'SOFT_TIME_LIMIT_EXCEEDED';
  constructor(seconds: number) {
    super(`SoftTimeLimitExceeded(${seconds})`);
    this.name = 'SoftTimeLimitExceeded';
  }
}

/** The hard time limit passed and the task was ended. */
export class TimeLimitExceeded extends Error {
  readonly excType = 'TimeLimitExceeded';
  readonly excModule = 'celery.exceptions';
  readonly code = 'TIME_LIMIT_EXCEEDED';
  constructor(readonly seconds: number) {
    super(`TimeLimitExceeded(${seconds})`);
    this.name = 'TimeLimitExceeded';
  }
}

/** The task was revoked (or expired, or terminated). */
export class TaskRevokedError extends Error {
  readonly excType = 'TaskRevokedError';
  readonly excModule = 'celery.exceptions';
  readonly code = 'TASK_REVOKED';
  constructor(reason: 'revoked' | 'expired' | 'terminated' | string) {
    super(reason);
    this.name = 'TaskRevokedError';
  }
}

/** The process or thread running the task died. */
export class WorkerLostError extends Error {
  readonly excType = 'WorkerLostError';
  readonly excModule = 'celery.exceptions';
  readonly code = 'WORKER_LOST';
  constructor(message: string) {
    super(message);
    this.name = 'WorkerLostError';
  }
}
