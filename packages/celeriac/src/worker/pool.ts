import { runAsParent } from '../canvas/parent-task.ts';
import type { BoundTaskFunction, TaskFunction } from '../task/task.ts';
import type { Request, RequestContext } from './request.ts';

/** A threads or processes pool cannot run: no app module, or the module fails to load in a thread or child. */
export class PoolError extends Error {
  readonly code = 'POOL';
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'PoolError';
  }
}

/**
 * Where task functions run. The worker keeps the bookkeeping (slots, acks, results, retries);
 * a pool only calls the function. `async` calls it on the event loop; `threads` and `processes`
 * post the call to a worker thread or a child process and return a promise.
 */
export interface Pool {
  /** `async`, `threads` or `processes`, as `inspect stats` reports it. */
  readonly name: string;
  /** Tasks run at once. */
  readonly concurrency: number;
  /** Changes `concurrency` at run time (pool_grow/pool_shrink); false when this pool cannot. */
  resize(concurrency: number): boolean;
  start(): Promise<void>;
  /**
   * Calls the task function with `args` (and `ctx` first for bound tasks). May return the value
   * synchronously (the async pool, for plain functions) or a promise; may throw.
   */
  call(request: Request, ctx: RequestContext | undefined, args: unknown[]): unknown;
  /**
   * Ends the code running `request` at once (hard time limit, revoke with terminate); the
   * thread or process is replaced. Returns false when the pool cannot (the async pool: code on
   * the event loop cannot be stopped from outside).
   */
  terminate(request: Request): boolean;
  /** Frees the pool's resources; the worker has already aborted what was running. */
  close(): Promise<void>;
  /**
   * What `inspect stats` lists as `pool.processes`: child pids (processes), thread ids
   * (threads), the worker's own pid (async).
   */
  workerIds(): number[];
}

/** Runs tasks on the event loop: for I/O-bound work. Cancellation is cooperative (`ctx.signal`). */
export class AsyncPool implements Pool {
  readonly name = 'async';

  constructor(public concurrency: number) {
    if (!Number.isInteger(concurrency) || concurrency < 1) {
      throw new RangeError(`concurrency must be a positive integer, got ${concurrency}`);
    }
  }

  async start(): Promise<void> {}

  call(request: Request, ctx: RequestContext | undefined, args: unknown[]): unknown {
    const fn = request.task.fn;
    // The request is the current task for what the body sends: parent_id, root_id, `children`.
    return runAsParent(request, () =>
      ctx
        ? (fn as BoundTaskFunction<unknown[], unknown>)(ctx, ...args)
        : (fn as TaskFunction<unknown[], unknown>)(...args),
    );
  }

  resize(concurrency: number): boolean {
    this.concurrency = concurrency;
    return true;
  }

  /** JavaScript on the event loop cannot be ended from outside; the worker stops waiting instead. */
  terminate(): boolean {
    return false;
  }

  async close(): Promise<void> {}

  workerIds(): number[] {
    return [process.pid];
  }
}
