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
