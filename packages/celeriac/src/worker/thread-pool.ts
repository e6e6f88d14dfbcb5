import { WorkerLostError } from '../task/errors.ts';
import type { Logger } from '../util/logger.ts';
import { PoolError, type Pool } from './pool.ts';
import type { Request, RequestContext } from './request.ts';
import { taskCall, settleOutcome } from './pool-call.ts';
import type { ThreadCall, ThreadOutcome } from './thread-protocol.ts';
import { ThreadSlot } from './thread-slot.ts';

export interface ThreadPoolOptions {
  /** The module that registers the tasks (the CLI's `-A`), loaded once in each thread. */
  appModule: string;
  /** Replace a thread after this many tasks (Celery's `--max-tasks-per-child`). */
  maxTasksPerChild?: number;
  /**
   * Replace a thread whose heap + external memory passed this many KiB after a task (the task
   * still completes). Twice it (at least 64 MiB) is the thread's V8 heap cap: a task that leaks
   * without end is ended there and fails with WorkerLostError, without taking the worker down.
   */
  maxMemoryPerChildKb?: number;
  logger: Logger;
}

interface Waiter {
  resolve: (slot: ThreadSlot) => void;
  reject: (error: Error) => void;
}

/**
 * Runs task functions in worker threads, for CPU-bound work: the event loop keeps consuming,
 * heartbeating and answering control while tasks compute. Arguments and return values cross by
 * structured clone. Each thread is a `ThreadSlot` (a one-thread piscina), so threads can be
 * added, removed and recycled one by one. A hard time limit or `terminate` ends the thread and a
 * new one replaces it; a thread that dies under a task fails the task with WorkerLostError.
 */
export class ThreadPool implements Pool {
  readonly name = 'threads';
  private readonly slots = new Set<ThreadSlot>();
  private starting = 0;
  private readonly waiters: Waiter[] = [];
  private readonly aborts = new Map<Request, AbortController>();
  private closed = false;

  constructor(
    public concurrency: number,
    private readonly options: ThreadPoolOptions,
  ) {
    if (!options.appModule)
      throw new PoolError(
        'the threads pool needs the task module (-A / appModule) to load it in each thread',
      );
  }

  /** Starts every thread and loads the module in each, so a module that throws on import stops the start. */
  async start(): Promise<void> {
    const started = await Promise.allSettled(
      Array.from({ length: this.concurrency }, () => ThreadSlot.start(this.slotOptions())),
    );
    for (const s of started) if (s.status === 'fulfilled') this.slots.add(s.value);
    const failed = started.find((s) => s.status === 'rejected');
    if (failed) {
      await this.close();
      throw failed.reason;
    }
  }

  call(request: Request, ctx: RequestContext | undefined, args: unknown[]): Promise<unknown> {
    if (this.closed) return Promise.reject(new PoolError('the threads pool is closed'));
    const abort = new AbortController();
    this.aborts.set(request, abort);
    const call = taskCall(request, ctx, args);
    const idle = this.idleSlot();
    const running = idle
      ? this.runOn(idle, request, call, abort)
      : this.waitForSlot().then((slot) => this.runOn(slot, request, call, abort));
    return running
      .then((outcome) => settleOutcome(request, ctx, outcome, 'a worker thread'))
      .finally(() => this.aborts.delete(request));
  }

  /** Adds threads up to `concurrency`, or removes idle ones above it (busy ones after their task). */
  resize(concurrency: number): boolean {
    this.concurrency = concurrency;
    this.fill();
    let extra = this.live() - concurrency;
    for (const slot of this.slots) {
      if (extra <= 0) break;
      if (slot.busy || slot.retiring) continue;
      this.retire(slot, false);
      extra--;
    }
    return true;
  }

  /** Ends the thread running `request`; a new one replaces it. */
  terminate(request: Request): boolean {
    const abort = this.aborts.get(request);
    if (!abort) return false;
    abort.abort();
    return true;
  }

  async close(): Promise<void> {
    this.closed = true;
    for (const abort of this.aborts.values()) abort.abort();
    for (const waiter of this.waiters.splice(0)) waiter.reject(new PoolError('the threads pool is closed'));
    const slots = [...this.slots];
    this.slots.clear();
    await Promise.all(slots.map((slot) => slot.close()));
  }

  /** Thread ids, for `inspect stats` (`pool.processes`). */
  workerIds(): number[] {
    return [...this.slots].filter((s) => !s.retiring).map((s) => s.threadId);
  }

  private async runOn(
    slot: ThreadSlot,
    request: Request,
    call: ThreadCall,
    abort: AbortController,
  ): Promise<ThreadOutcome> {
    if (abort.signal.aborted) {
      this.release(slot);
      throw new WorkerLostError(`${request.name}[${request.id}] was ended before it started`);
    }
    const onAbort = (): void => slot.abortRunning(request.signal.reason);
    const signal = request.signal;
    signal.addEventListener('abort', onAbort, { once: true });
    const running = slot.run(call, abort.signal);
    if (signal.aborted) onAbort(); // the soft limit or shutdown came first: the thread gets it at once
    let outcome: ThreadOutcome;
    try {
      outcome = await running;
    } catch (error) {
      signal.removeEventListener('abort', onAbort);
      // piscina is already starting a new thread in this slot: the next call waits for it there.
      slot.tasks = 0;
      this.release(slot);
      if (abort.signal.aborted) throw error; // we ended it; the runner has settled the request
      this.options.logger.error(
        { err: error, taskId: request.id },
        `the thread running ${request.name}[${request.id}] died; starting a new one`,
      );
      throw new WorkerLostError(
        `Worker thread exited prematurely running ${request.name}[${request.id}]: ${(error as Error)?.message ?? error}`,
      );
    }
    signal.removeEventListener('abort', onAbort);
    this.afterTask(slot, outcome.memoryBytes ?? 0);
    return outcome;
  }

  /** Celery's `maxtasksperchild` and `max_memory_per_child`: replace the thread after this task. */
  private afterTask(slot: ThreadSlot, memoryBytes: number): void {
    slot.tasks++;
    const { maxTasksPerChild, maxMemoryPerChildKb } = this.options;
    if (this.live() > this.concurrency) return this.retire(slot, false); // the pool shrank
    const tooMany = maxTasksPerChild !== undefined && slot.tasks >= maxTasksPerChild;
    const tooBig = maxMemoryPerChildKb !== undefined && memoryBytes / 1024 > maxMemoryPerChildKb;
    if (!tooMany && !tooBig) return this.release(slot);
    const kb = Math.round(memoryBytes / 1024);
    this.options.logger.info(
      { threadId: slot.threadId, tasks: slot.tasks, memoryKb: kb },
      tooMany
        ? `thread ${slot.threadId} ran ${slot.tasks} tasks (maxTasksPerChild): replacing it`
        : `thread ${slot.threadId} uses ${kb} KiB > maxMemoryPerChild ${maxMemoryPerChildKb} KiB: replacing it`,
    );
    this.retire(slot, true);
  }

  private idleSlot(): ThreadSlot | undefined {
    for (const slot of this.slots) {
      if (!slot.busy && !slot.retiring) {
        slot.busy = true;
        return slot;
      }
    }
    return undefined;
  }

  private waitForSlot(): Promise<ThreadSlot> {
    this.fill();
    return new Promise((resolve, reject) => this.waiters.push({ resolve, reject }));
  }

  /** A slot is free: the oldest waiting call takes it. */
  private release(slot: ThreadSlot): void {
    const waiter = this.waiters.shift();
    if (waiter) waiter.resolve(slot);
    else slot.busy = false;
  }

  /** Threads running or starting that are not on their way out. */
  private live(): number {
    let n = this.starting;
    for (const slot of this.slots) if (!slot.retiring) n++;
    return n;
  }

  private retire(slot: ThreadSlot, replace: boolean): void {
    this.slots.delete(slot);
    slot
      .close()
      .catch((error: unknown) =>
        this.options.logger.warn({ err: error, threadId: slot.threadId }, 'closing a pool thread failed'),
      );
    if (replace) this.fill();
  }

  /** Starts threads until `concurrency` are running or starting. */
  private fill(): void {
    while (!this.closed && this.live() < this.concurrency) {
      this.starting++;
      ThreadSlot.start(this.slotOptions()).then(
        (slot) => {
          this.starting--;
          if (this.closed || this.live() >= this.concurrency) return void slot.close();
          this.slots.add(slot);
          slot.busy = true;
          this.release(slot);
        },
        (error: unknown) => {
          this.starting--;
          this.options.logger.error(
            { err: error },
            `a new pool thread could not start: ${(error as Error).message}`,
          );
          // Try again shortly while calls wait, rather than spinning on a module that now fails.
          if (this.waiters.length > 0) setTimeout(() => this.fill(), 1_000).unref();
        },
      );
    }
  }

  private slotOptions(): { appModule: string; heapLimitMb?: number } {
    const kb = this.options.maxMemoryPerChildKb;
    return {
      appModule: this.options.appModule,
      ...(kb ? { heapLimitMb: Math.max(64, Math.ceil((2 * kb) / 1024)) } : {}),
    };
  }
}
