import type { Celeriac } from '../app/celeriac.ts';
import { saferepr } from '../protocol/repr.ts';
import { toExceptionInfo, tracebackOf } from '../result/exceptions.ts';
import type { ExceptionInfo } from '../result/meta.ts';
import { States } from '../result/states.ts';
import type { RetryOptions } from '../task/context.ts';
import {
  Ignore,
  MaxRetriesExceededError,
  Reject,
  Retry,
  SoftTimeLimitExceeded,
  TaskRevokedError,
  TimeLimitExceeded,
  WorkerLostError,
} from '../task/errors.ts';
import type { Transport } from '../transports/transport.ts';
import type { Logger } from '../util/logger.ts';
import { callArguments } from './call-args.ts';
import type { CanvasSteps } from './canvas-steps.ts';
import type { WorkerEvents } from './events.ts';
import type { Pool } from './pool.ts';
import { Request, RequestContext } from './request.ts';
import type { ResultStore } from './result-store.ts';
import { autoretryCountdown, buildRetryMessage, matchesAutoretry, retryRoute } from './retry.ts';
import { RateLimiter } from './rate-limits.ts';
import { RevokedSet } from './revoked-set.ts';
import { TimeLimits } from './time-limits.ts';

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
}

/**
 * Runs accepted requests in the pool and settles them as Celery's tracer does
 * (celery/app/trace.py `build_tracer`, celery/worker/request.py): ack, run, store, send what
 * follows, emit events. Sync task functions with nothing to store finish without a promise.
 */
export class TaskRunner {
  /** Requests running now. */
  readonly active = new Set<Request>();
  /** Accepted, waiting for a slot (a FIFO with a moving head; shift() is O(n)). */
  private waiting: Request[] = [];
  private waitingHead = 0;
  /** Finished requests by task name (`stats.total`). */
  readonly processed = new Map<string, number>();
  private idleWaiters: Array<() => void> = [];
  /** Set while `pump` starts waiting requests, so sync tasks finishing inside it do not recurse. */
  private pumping = false;
  private readonly conf;
  /** Per-task rate limits; requests over the rate wait here before taking a slot. */
  readonly rateLimits = new RateLimiter<Request>((request) => this.enqueue(request));
  readonly timeLimits = new TimeLimits();

  constructor(private readonly deps: TaskRunnerDeps) {
    this.conf = deps.app.conf;
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
    const waiting = this.waiting.slice(this.waitingHead);
    return this.rateLimits.size === 0 ? waiting : [...this.rateLimits.held(), ...waiting];
  }

  /** Starts the request now if a slot is free, else queues it; over its rate limit it waits first. */
  submit(request: Request): void {
    if (this.rateLimits.admit(request.headers.task, request)) this.enqueue(request);
  }

  private enqueue(request: Request): void {
    if (!this.pumping && this.active.size < this.deps.pool.concurrency) this.start(request);
    else this.waiting.push(request);
  }

  /** Takes back every request not yet started (shutdown gives them back to the broker). */
  drainWaiting(): Request[] {
    const out = [...this.rateLimits.drain(), ...this.waiting.slice(this.waitingHead)];
    this.waiting = [];
    this.waitingHead = 0;
    return out;
  }

  /** Resolves once nothing is running, or after `timeoutMs`. */
  idle(timeoutMs: number): Promise<void> {
    if (this.active.size === 0) return Promise.resolve();
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
    this.revokeRequest(request, reason).catch((error: unknown) => {
      this.deps.logger.error(
        { err: error, taskId: request.id },
        `could not revoke ${request.name}[${request.id}]`,
      );
      request.ack();
    });
  }

  /** Stores REVOKED, acks and announces, for a revoked or expired request (`Request._announce_revoked`). */
  async revokeRequest(
    request: Request,
    reason: 'revoked' | 'expired' | 'terminated',
    signal = 'SIGTERM',
  ): Promise<void> {
    const info = toExceptionInfo(new TaskRevokedError(reason));
    if (this.storesErrors(request)) await this.deps.store.store(request, States.REVOKED, info, null);
    request.ack();
    this.deps.logger.info(
      { taskId: request.id },
      `Discarding revoked task: ${request.name}[${request.id}] (${reason})`,
    );
    if (this.deps.events.wants('task-revoked')) {
      this.deps.events.emit('task-revoked', {
        uuid: request.id,
        terminated: reason === 'terminated',
        signum: reason === 'terminated' ? signal : null,
        expired: reason === 'expired',
      });
    }
  }

  /** `ctx.retry()`: republishes the task and rejects with Retry (or the error when retries ran out). */
  readonly retry = async (request: Request, options: RetryOptions): Promise<never> => {
    const { task, headers } = request;
    const maxRetries =
      options.maxRetries !== undefined
        ? options.maxRetries
        : task.options.maxRetries !== undefined
          ? task.options.maxRetries
          : this.conf.maxRetries;
    const retries = headers.retries + 1;
    if (maxRetries !== null && retries > maxRetries) {
      if (options.exc !== undefined) throw options.exc;
      throw new MaxRetriesExceededError(
        `Can't retry ${headers.task}[${request.id}] args:${headers.argsrepr} kwargs:${headers.kwargsrepr}`,
      );
    }
    const now = Date.now();
    const delayMs =
      options.countdown !== undefined
        ? options.countdown * 1000
        : task.options.defaultRetryDelay !== undefined
          ? task.options.defaultRetryDelay * 1000
          : this.conf.defaultRetryDelayMs;
    const etaMs = options.eta ? options.eta.getTime() : now + delayMs;
    const message = buildRetryMessage(request, options, etaMs, now);
    const retry = new Retry(options.exc, etaMs);
    // RETRY is stored before the new message goes out (Celery stores it after), so a fast retry's
    // FAILURE or SUCCESS can never be overwritten by this run's late RETRY.
    if (!(await this.storeRetryState(request, retry)) && !request.acknowledged) {
      throw new Reject(`the RETRY state of ${request.id} could not be stored; giving the message back`, true);
    }
    storedRetries.add(retry);
    try {
      if (options.queue !== undefined)
        await this.deps.app.declareQueueOnce(this.deps.transport, this.deps.app.queueSpec(options.queue));
      await this.deps.transport.publish(message, retryRoute(request, options.queue));
    } catch (error) {
      // celery/app/task.py: a retry that cannot be published rejects the message (no requeue).
      throw new Reject(
        `retry of ${request.id} could not be published: ${(error as Error)?.message ?? error}`,
        false,
      );
    }
    throw retry;
  };

  private start(request: Request): void {
    const now = Date.now();
    if (this.deps.revoked.has(request.id) || request.isExpired(now)) {
      this.active.add(request);
      const reason = this.deps.revoked.has(request.id) ? 'revoked' : 'expired';
      this.settle(request, this.revokeRequest(request, reason));
      return;
    }
    this.active.add(request);
    const options = request.task.options;
    if (!(options.acksLate ?? this.conf.acksLate)) request.ack(); // early ack: Request.on_accepted
    request.timeStart = now;
    if (this.deps.events.wants('task-started')) this.deps.events.emit('task-started', { uuid: request.id });
    const trackStarted = (options.trackStarted ?? this.conf.trackStarted) && !this.taskIgnoresResult(request);
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
        ? new RequestContext(request, this.deps.hostname, this.retry)
        : undefined;
      returned = this.deps.pool.call(request, ctx, args);
    } catch (error) {
      this.onError(request, error, true);
      return;
    }
    if (isThenable(returned)) {
      const limits = this.timeLimits.forRequest(request);
      if (limits) this.armTimeLimits(request, limits.soft, limits.hard);
      returned.then(
        (value) => this.onSuccess(request, value),
        (error: unknown) => this.onError(request, error, true),
      );
    } else {
      this.onSuccess(request, returned);
    }
  }

  private onSuccess(request: Request, value: unknown): void {
    if (request.detached) return;
    if (request.abandoned) return this.finish(request);
    if (request.aborted && this.deps.revoked.has(request.id))
      return this.settle(request, this.revokeRequest(request, 'terminated'));
    const { embed } = request.message;
    const store =
      this.deps.store.enabled && !request.headers.ignore_result && !this.taskIgnoresResult(request);
    if (!store && !embed.callbacks && !embed.chain && !embed.chord) {
      request.ack();
      this.succeeded(request, value);
      return this.finish(request);
    }
    this.settle(request, this.storeSuccess(request, value, store));
  }

  private async storeSuccess(request: Request, value: unknown, store: boolean): Promise<void> {
    try {
      await this.deps.canvas.afterSuccess(request, value);
    } catch (error) {
      const what = `task ${request.name}[${request.id}] succeeded but what follows it could not be sent`;
      this.deps.logger.error({ err: error, taskId: request.id }, what);
      return this.storeFailure(
        request,
        new Error(`${what}: ${(error as Error)?.message ?? error}`, { cause: error }),
      );
    }
    if (store && !(await this.deps.store.store(request, States.SUCCESS, value, null)))
      return this.giveBack(request);
    request.ack();
    this.succeeded(request, value);
  }

  private succeeded(request: Request, value: unknown): void {
    const runtime = (Date.now() - request.timeStart) / 1000;
    if (this.deps.logger.isLevelEnabled('info')) {
      this.deps.logger.info(
        { taskId: request.id },
        `Task ${request.name}[${request.id}] succeeded in ${runtime}s`,
      );
    }
    if (this.deps.events.wants('task-succeeded')) {
      this.deps.events.emit('task-succeeded', { uuid: request.id, result: saferepr(value), runtime });
    }
  }

  private onError(request: Request, thrown: unknown, mayAutoretry: boolean): void {
    if (isThenable(thrown)) {
      // `throw ctx.retry(...)` throws the promise; what it rejects with is the outcome.
      thrown.then(
        () =>
          this.onError(
            request,
            new TypeError('a task threw a promise that resolved; throw an Error instead'),
            false,
          ),
        (error: unknown) => this.onError(request, error, mayAutoretry),
      );
      return;
    }
    if (request.detached) return;
    if (request.abandoned) return this.finish(request);
    if (request.aborted && this.deps.revoked.has(request.id))
      return this.settle(request, this.revokeRequest(request, 'terminated'));
    if (thrown instanceof Retry) return this.settle(request, this.storeRetry(request, thrown));
    if (thrown instanceof Reject) {
      request.reject(thrown.requeue);
      this.deps.logger.warn(
        { taskId: request.id },
        `Task ${request.name}[${request.id}] rejected: ${thrown.message} (requeue: ${thrown.requeue})`,
      );
      if (this.deps.events.wants('task-rejected'))
        this.deps.events.emit('task-rejected', { uuid: request.id, requeue: thrown.requeue });
      return this.finish(request);
    }
    if (thrown instanceof Ignore) {
      request.ack();
      return this.finish(request);
    }
    if (thrown instanceof WorkerLostError && !request.acknowledged) {
      // acksLate + rejectOnWorkerLost: the message goes back for another worker (celery/worker/request.py on_failure).
      const options = request.task.options;
      if (options.rejectOnWorkerLost ?? this.conf.rejectOnWorkerLost) {
        this.deps.logger.warn({ taskId: request.id }, `${thrown.message}; requeueing (rejectOnWorkerLost)`);
        request.reject(true);
        return this.finish(request);
      }
    }
    if (mayAutoretry && matchesAutoretry(request.task.options, thrown)) {
      const countdown = autoretryCountdown(request.task.options, request.headers.retries);
      this.retry(request, { exc: thrown, ...(countdown === undefined ? {} : { countdown }) }).catch(
        (error: unknown) => this.onError(request, error, false),
      );
      return;
    }
    this.settle(request, this.storeFailure(request, thrown));
  }

  private storeRetryState(request: Request, retry: Retry): Promise<boolean> {
    if (!this.storesErrors(request)) return Promise.resolve(true);
    const exc = retry.reason;
    return this.deps.store.store(
      request,
      States.RETRY,
      exc === undefined ? null : toExceptionInfo(exc),
      tracebackOf(exc === undefined ? retry : exc),
    );
  }

  private async storeRetry(request: Request, retry: Retry): Promise<void> {
    // A Retry the task made itself (not through ctx.retry) has not been stored yet.
    if (!storedRetries.has(retry) && !(await this.storeRetryState(request, retry)))
      return this.giveBack(request);
    request.ack(); // the new message is already published
    this.deps.logger.info(
      { taskId: request.id },
      `Task ${request.name}[${request.id}] retry: ${retry.message}`,
    );
    if (this.deps.events.wants('task-retried')) {
      this.deps.events.emit('task-retried', {
        uuid: request.id,
        exception: excRepr(toExceptionInfo(retry)),
        traceback: tracebackOf(retry),
      });
    }
  }

  private async storeFailure(request: Request, thrown: unknown): Promise<void> {
    const info = toExceptionInfo(thrown);
    const traceback = tracebackOf(thrown);
    const store = this.storesErrors(request) ? this.deps.store : undefined;
    if (store && !(await store.store(request, States.FAILURE, info, traceback)))
      return this.giveBack(request);
    try {
      await this.deps.canvas.afterFailure(request, info, traceback, store);
    } catch (error) {
      this.deps.logger.error(
        { err: error, taskId: request.id },
        `errbacks of ${request.name}[${request.id}] could not be sent`,
      );
    }
    request.ack(); // acks_on_failure_or_timeout
    this.deps.logger.error(
      { taskId: request.id, err: thrown instanceof Error ? thrown : undefined },
      `Task ${request.name}[${request.id}] raised unexpected: ${excRepr(info)}`,
    );
    if (this.deps.events.wants('task-failed')) {
      this.deps.events.emit('task-failed', { uuid: request.id, exception: excRepr(info), traceback });
    }
  }

  /** The outcome could not be stored: with acksLate the message goes back so nothing is lost. */
  private giveBack(request: Request): void {
    if (request.acknowledged) {
      this.deps.logger.error(
        { taskId: request.id },
        `the outcome of ${request.name}[${request.id}] is lost: it was acked early`,
      );
      return;
    }
    this.deps.logger.error(
      { taskId: request.id },
      `giving ${request.name}[${request.id}] back to the broker (requeue): its state could not be stored`,
    );
    request.reject(true);
  }

  private settle(request: Request, work: Promise<void>): void {
    work.then(
      () => this.finish(request),
      (error: unknown) => {
        this.deps.logger.error(
          { err: error, taskId: request.id },
          `internal error finishing ${request.name}[${request.id}]`,
        );
        request.ack();
        this.finish(request);
      },
    );
  }

  private finish(request: Request): void {
    if (!this.active.delete(request)) return;
    if (request.softTimer || request.hardTimer) {
      clearTimeout(request.softTimer);
      clearTimeout(request.hardTimer);
    }
    const name = request.headers.task;
    this.processed.set(name, (this.processed.get(name) ?? 0) + 1);
    if (this.waitingHead < this.waiting.length) this.pump();
    else if (this.active.size === 0 && this.idleWaiters.length > 0) {
      for (const done of [...this.idleWaiters]) done();
    }
  }

  /** Starts waiting requests while slots are free; a loop, not recursion, however many finish synchronously. */
  /** The pool grew: start what waits. */
  capacityChanged(): void {
    if (this.waitingHead < this.waiting.length) this.pump();
  }

  private pump(): void {
    if (this.pumping) return;
    this.pumping = true;
    try {
      const limit = this.deps.pool.concurrency;
      while (this.active.size < limit && this.waitingHead < this.waiting.length) {
        const next = this.waiting[this.waitingHead]!;
        this.waiting[this.waitingHead++] = undefined as unknown as Request;
        this.start(next);
      }
      if (this.waitingHead > 1024 && this.waitingHead * 2 > this.waiting.length) {
        this.waiting = this.waiting.slice(this.waitingHead);
        this.waitingHead = 0;
      }
    } finally {
      this.pumping = false;
    }
    if (this.active.size === 0 && this.idleWaiters.length > 0)
      for (const done of [...this.idleWaiters]) done();
  }

  /**
   * Soft limit: the task's AbortSignal fires with SoftTimeLimitExceeded, so code awaiting it can
   * clean up (or let it propagate: FAILURE SoftTimeLimitExceeded). Hard limit: see `cutLoose`.
   */
  private armTimeLimits(request: Request, soft: number | null, hard: number | null): void {
    if (soft !== null && (hard === null || soft < hard)) {
      request.softTimer = setTimeout(() => {
        this.deps.logger.warn(
          { taskId: request.id },
          `Soft time limit (${soft}s) exceeded for ${request.name}[${request.id}]`,
        );
        request.abort(new SoftTimeLimitExceeded(soft));
      }, soft * 1000);
    }
    if (hard !== null) {
      request.hardTimer = setTimeout(() => {
        this.deps.logger.error(
          { taskId: request.id },
          `Hard time limit (${hard}s) exceeded for ${request.name}[${request.id}]`,
        );
        const error = new TimeLimitExceeded(hard);
        this.cutLoose(request, error, () => this.storeFailure(request, error));
      }, hard * 1000);
    }
  }

  /**
   * Settles a running request now, without its code's outcome (hard time limit, revoke with
   * terminate): the pool ends the thread or process running it; the async pool cannot, so the
   * slot is freed, the signal aborted and a warning says the code may still run.
   */
  cutLoose(request: Request, reason: Error, settle: () => Promise<void>): void {
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
    this.settle(request, settle());
  }

  /** Revoke with terminate: REVOKED 'terminated' now, the code ended (or cut loose). */
  terminate(request: Request, signal: string): void {
    this.cutLoose(request, new TaskRevokedError(`terminated (${signal})`), () =>
      this.revokeRequest(request, 'terminated', signal),
    );
  }

  private taskIgnoresResult(request: Request): boolean {
    return request.task.options.ignoreResult ?? this.conf.ignoreResult;
  }

  /** celery/app/trace.py `handle_error_state`: failures are stored unless the task ignores results. */
  private storesErrors(request: Request): boolean {
    return this.deps.store.enabled && !this.taskIgnoresResult(request);
  }
}

/** Retries whose RETRY state `retry()` already stored. */
const storedRetries = new WeakSet<Retry>();

/** `ZeroDivisionError('division by zero')`, as `safe_repr(exc)` reads in Celery's events. */
export function excRepr(info: ExceptionInfo): string {
  return `${info.exc_type}(${info.exc_message.map((m) => saferepr(m)).join(', ')})`;
}

function isThenable(value: unknown): value is PromiseLike<unknown> {
  return (
    value !== null && typeof value === 'object' && typeof (value as { then?: unknown }).then === 'function'
  );
}
