/** A control command named a task this worker does not have. */
export class UnknownTaskError extends Error {
  readonly code = 'UNKNOWN_TASK';
  constructor(readonly taskName: string) {
    super(`unknown task ${JSON.stringify(taskName)}`);
    this.name = 'UnknownTaskError';
  }
}

/** pool_grow / pool_shrink that cannot be done. */
export class PoolResizeError extends Error {
  readonly code = 'POOL_RESIZE';
  constructor(message: string) {
    super(message);
    this.name = 'PoolResizeError';
  }
}

/** The worker stopped running: thrown into running tasks' signals at cold shutdown. */
export class WorkerShutdownError extends Error {
  readonly code = 'WORKER_SHUTDOWN';
  constructor() {
    super('the worker is shutting down');
    this.name = 'WorkerShutdown';
  }
}

/** stop() came while start() was still connecting or setting up: start() rejects with this. */
export class WorkerStartAbortedError extends Error {
  readonly code = 'WORKER_START_ABORTED';
  constructor(
    /** Whether the broker connection had opened (false: stopped during the connect retries). */
    readonly connected: boolean,
    options?: { cause?: unknown },
  ) {
    super(
      connected
        ? 'the worker was stopped before it was ready'
        : 'the worker was stopped before it connected to the broker',
      options,
    );
    this.name = 'WorkerStartAbortedError';
  }
}
