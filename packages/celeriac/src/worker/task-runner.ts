import type { Celeriac } from '../app/celeriac.ts';
import { States } from '../result/states.ts';
import { SoftTimeLimitExceeded, TaskRevokedError, TimeLimitExceeded } from '../task/errors.ts';
import type { Transport } from '../transports/transport.ts';
import type { Logger } from '../util/logger.ts';
import { BackgroundStores } from './background-stores.ts';
import { callArguments } from './call-args.ts';
import type { CanvasSteps } from './canvas-steps.ts';
import { isThenable } from './exc-repr.ts';
import type { WorkerEvents } from './events.ts';
import type { Pool } from './pool.ts';
import { Request, RequestContext } from './request.ts';
import type { ResultStore } from './result-store.ts';
import { ignoresResult } from './result-policy.ts';
import { RateLimiter } from './rate-limits.ts';
import { RevokedSet } from './revoked-set.ts';
import { TaskOutcomes } from './task-outcomes.ts';
import { TaskRetrier } from './task-retry.ts';
import { TimeLimits } from './time-limits.ts';
import { WaitingQueue } from './waiting-queue.ts';

export interface TaskRunnerDeps {
  app: Celeriac;
  transport: Transport;
  pool: Pool;
  store: ResultStore;
  canvas: CanvasSteps;
  events: WorkerEvents;
  revoked: RevokedSet;
  logger: Logger;
  hostname: string;
  /**
   * Unacked messages per unit of concurrency (the worker's prefetch multiplier): outcomes still
   * being stored in the background are capped at concurrency × this (at least concurrency).
   */
  prefetchMultiplier?: number;
}

/**
 * Runs accepted requests in the pool, one per free slot (celery/worker/request.py): ack early,
 * run, apply time limits; `TaskOutcomes` settles what the code returned or threw. Sync task
 * functions with nothing to store finish without a promise.
 */
export class TaskRunner {
  /** Requests running now. */
  readonly active = new Set<Request>();
  /** Finished requests by task name (`stats.total`). */
  readonly processed = new Map<string, number>();
  /** Per-task rate limits; requests over the rate wait here before taking a slot. */
  readonly rateLimits = new RateLimiter<Request>((request) => this.enqueue(request));
  readonly timeLimits = new TimeLimits();
  /** Early-acked outcomes still being stored after their slot was freed. */
  readonly background: BackgroundStores;
  /** Accepted, waiting for a slot. */
  private readonly waiting = new WaitingQueue<Request>();
  private idleWaiters: Array<() => void> = [];
  /** Set while `pump` starts waiting requests, so sync tasks finishing inside it do not recurse. */
  private pumping = false;
  private readonly conf;
  private readonly retrier: TaskRetrier;
  private readonly outcomes: TaskOutcomes;

  constructor(private readonly deps: TaskRunnerDeps) {
    this.conf = deps.app.conf;
    this.retrier = new TaskRetrier(deps);
    this.background = new BackgroundStores(deps.logger, () => this.backgroundSettled());
    this.outcomes = new TaskOutcomes({
      ...deps,
      retrier: this.retrier,
      finish: (request) => this.finish(request),
      background: this.background,
    });
    for (const task of deps.app.tasks.values()) {
      if (!task.options.rateLimit) continue;
      try {
        this.rateLimits.set(task.name, task.options.rateLimit);
      } catch (error) {
        throw new TypeError(`task ${task.name}: ${(error as Error).message}`, { cause: error });
      }
    }
  }

  get running(): number {
    return this.active.size;
  }

  /** Requests accepted but not started, oldest first. */
  reserved(): Request[] {
    const waiting = this.waiting.items();
    return this.rateLimits.size === 0 ? waiting : [...this.rateLimits.held(), ...waiting];
  }

  /** Starts the request now if a slot is free, else queues it; over its rate limit it waits first. */
  submit(request: Request): void {
    if (this.rateLimits.admit(request.headers.task, request)) this.enqueue(request);
  }

  private enqueue(request: Request): void {
    if (!this.pumping && this.hasRoom()) this.start(request);
    else this.waiting.push(request);
  }

  /** Outcomes still being stored in the background (early ack). */
  get pendingStores(): number {
    return this.background.size;
  }

  /** A free slot, and room for one more background store: at the cap, waiting messages stay unacked. */
  private hasRoom(): boolean {
    const concurrency = this.deps.pool.concurrency;
    if (this.active.size >= concurrency) return false;
    const multiplier = this.deps.prefetchMultiplier ?? this.conf.prefetchMultiplier;
    return this.background.size < concurrency * Math.max(1, multiplier);
  }

  private backgroundSettled(): void {
    if (this.waiting.size > 0) this.pump();
    else this.notifyIfIdle();
  }

  private notifyIfIdle(): void {
    if (this.active.size === 0 && this.background.size === 0 && this.idleWaiters.length > 0) {
      for (const done of [...this.idleWaiters]) done();
    }
  }

  /** Takes back every request not yet started (shutdown gives them back to the broker). */
  drainWaiting(): Request[] {
    return [...this.rateLimits.drain(), ...this.waiting.drain()];
  }

  /** Resolves once nothing is running or being stored, or after `timeoutMs`. */
  idle(timeoutMs: number): Promise<void> {
    if (this.active.size === 0 && this.background.size === 0) return Promise.resolve();
    return new Promise((resolve) => {
      const timer = setTimeout(done, timeoutMs);
      const waiters = this.idleWaiters;
      function done(): void {
        clearTimeout(timer);
        const i = waiters.indexOf(done);
        if (i >= 0) waiters.splice(i, 1);
        resolve();
      }
      waiters.push(done);
    });
  }

  /** Revokes a request that never took a slot (revoked or expired on receipt). */
  discard(request: Request, reason: 'revoked' | 'expired'): void {
    this.outcomes.revokeRequest(request, reason).catch((error: unknown) => {
      this.deps.logger.error(
        { err: error, taskId: request.id },
        `could not revoke ${request.name}[${request.id}]`,
      );
      request.ack();
    });
  }

  /** Revoke with terminate: REVOKED 'terminated' now, the code ended (or cut loose). */
  terminate(request: Request, signal: string): void {
    this.cutLoose(request, new TaskRevokedError(`terminated (${signal})`), () =>
      this.outcomes.revokeRequest(request, 'terminated', signal),
    );
  }

  /** The pool grew: start what waits. */
  capacityChanged(): void {
    if (this.waiting.size > 0) this.pump();
  }

  private start(request: Request): void {
    const now = Date.now();
    this.active.add(request);
    if (this.deps.revoked.has(request.id) || request.isExpired(now)) {
      const reason = this.deps.revoked.has(request.id) ? 'revoked' : 'expired';
      this.outcomes.settle(request, this.outcomes.revokeRequest(request, reason));
      return;
    }
    const options = request.task.options;
    if (!(options.acksLate ?? this.conf.acksLate)) request.ack(); // early ack: Request.on_accepted
    request.timeStart = now;
    if (this.deps.events.wants('task-started')) this.deps.events.emit('task-started', { uuid: request.id });
    const trackStarted =
      (options.trackStarted ?? this.conf.trackStarted) && !ignoresResult(request, this.conf);
    if (trackStarted && this.deps.store.enabled) {
      const started = this.deps.store.store(
        request,
        States.STARTED,
        { pid: process.pid, hostname: this.deps.hostname },
        null,
      );
      started.then(
        () => this.invoke(request),
        () => this.invoke(request),
      );
      return;
    }
    this.invoke(request);
  }

  private invoke(request: Request): void {
    let returned: unknown;
    try {
      const args = callArguments(request.task, request.args, request.kwargs);
      const ctx = request.task.options.bind
        ? new RequestContext(request, this.deps.hostname, this.retrier.retry)
        : undefined;
      returned = this.deps.pool.call(request, ctx, args);
    } catch (error) {
      this.outcomes.onError(request, error, true);
      return;
    }
    if (isThenable(returned)) {
      const limits = this.timeLimits.forRequest(request);
      if (limits) this.armTimeLimits(request, limits.soft, limits.hard);
      returned.then(
        (value) => this.outcomes.onSuccess(request, value),
        (error: unknown) => this.outcomes.onError(request, error, true),
      );
    } else {
      this.outcomes.onSuccess(request, returned);
    }
  }

  private finish(request: Request): void {
    if (!this.active.delete(request)) return;
    if (request.softTimer || request.hardTimer) {
      clearTimeout(request.softTimer);
      clearTimeout(request.hardTimer);
    }
    const name = request.headers.task;
    this.processed.set(name, (this.processed.get(name) ?? 0) + 1);
    if (this.waiting.size > 0) this.pump();
    else this.notifyIfIdle();
  }

  /** Starts waiting requests while slots are free; a loop, not recursion, however many finish synchronously. */
  private pump(): void {
    if (this.pumping) return;
    this.pumping = true;
    try {
      while (this.waiting.size > 0 && this.hasRoom()) this.start(this.waiting.shift()!);
    } finally {
      this.pumping = false;
    }
    this.notifyIfIdle();
  }

  /**
   * Soft limit: the task's AbortSignal fires with SoftTimeLimitExceeded, so code awaiting it can
   * clean up (or let it propagate: FAILURE SoftTimeLimitExceeded). Hard limit: see `cutLoose`.
   */
  private armTimeLimits(request: Request, soft: number | null, hard: number | null): void {
    const { logger } = this.deps;
    if (soft !== null && (hard === null || soft < hard)) {
      request.softTimer = setTimeout(() => {
        logger.warn(
          { taskId: request.id },
          `Soft time limit (${soft}s) exceeded for ${request.name}[${request.id}]`,
        );
        request.abort(new SoftTimeLimitExceeded(soft));
      }, soft * 1000);
    }
    if (hard !== null) {
      request.hardTimer = setTimeout(() => {
        logger.error(
          { taskId: request.id },
          `Hard time limit (${hard}s) exceeded for ${request.name}[${request.id}]`,
        );
        const error = new TimeLimitExceeded(hard);
        this.cutLoose(request, error, () => this.outcomes.storeFailure(request, error));
      }, hard * 1000);
    }
  }

  /**
   * Settles a running request now, without its code's outcome (hard time limit, revoke with
   * terminate): the pool ends the thread or process running it; the async pool cannot, so the
   * slot is freed, the signal aborted and a warning says the code may still run.
   */
  private cutLoose(request: Request, reason: Error, settle: () => Promise<void>): void {
    if (request.detached || !this.active.has(request)) return;
    request.detached = true;
    request.abort(reason);
    if (!this.deps.pool.terminate(request)) {
      this.deps.logger.warn(
        { taskId: request.id },
        `${request.name}[${request.id}] runs on the event loop (${this.deps.pool.name} pool) and cannot be ended from outside: ` +
          'its slot is freed and its signal aborted, but its code may still run until it next checks ctx.signal',
      );
    }
    this.outcomes.settle(request, settle());
  }
}
