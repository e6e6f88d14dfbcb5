import type { Celeriac } from '../app/celeriac.ts';
import { saferepr } from '../protocol/repr.ts';
import { toExceptionInfo, tracebackOf } from '../result/exceptions.ts';
import { States } from '../result/states.ts';
import { Ignore, Reject, Retry, TaskRevokedError, WorkerLostError } from '../task/errors.ts';
import type { Logger } from '../util/logger.ts';
import type { BackgroundStores } from './background-stores.ts';
import type { CanvasSteps } from './canvas-steps.ts';
import { excRepr, isThenable } from './exc-repr.ts';
import type { WorkerEvents } from './events.ts';
import type { Request } from './request.ts';
import type { ResultStore } from './result-store.ts';
import { ignoresResult, storesErrors } from './result-policy.ts';
import { autoretryCountdown, matchesAutoretry } from './retry.ts';
import type { RevokedSet } from './revoked-set.ts';
import type { TaskRetrier } from './task-retry.ts';

export interface TaskOutcomeDeps {
  app: Celeriac;
  store: ResultStore;
  canvas: CanvasSteps;
  events: WorkerEvents;
  revoked: RevokedSet;
  logger: Logger;
  retrier: TaskRetrier;
  /** Frees the request's slot once it is settled. */
  finish: (request: Request) => void;
  /** Where an early-acked request's outcome goes on being stored after its slot is freed. */
  background: BackgroundStores;
}

/**
 * What happens after a task's code returns or throws, as Celery's tracer does
 * (celery/app/trace.py `build_tracer`, celery/worker/request.py): store the state, send what
 * follows, ack or reject, emit the event, then free the slot.
 */
export class TaskOutcomes {
  private readonly conf;

  constructor(private readonly deps: TaskOutcomeDeps) {
    this.conf = deps.app.conf;
  }

  onSuccess(request: Request, value: unknown): void {
    if (request.detached) return;
    if (request.abandoned) return this.deps.finish(request);
    if (request.aborted && this.deps.revoked.has(request.id))
      return this.settle(request, this.revokeRequest(request, 'terminated'));
    const { embed } = request.message;
    const store =
      this.deps.store.enabled && !request.headers.ignore_result && !ignoresResult(request, this.conf);
    if (!store && !embed.callbacks && !embed.chain && !embed.chord) {
      request.ack();
      this.succeeded(request, value);
      return this.deps.finish(request);
    }
    this.settle(request, this.storeSuccess(request, value, store));
  }

  onError(request: Request, thrown: unknown, mayAutoretry: boolean): void {
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
    if (request.abandoned) return this.deps.finish(request);
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
      return this.deps.finish(request);
    }
    if (thrown instanceof Ignore) {
      request.ack();
      return this.deps.finish(request);
    }
    if (thrown instanceof WorkerLostError && !request.acknowledged) {
      // acksLate + rejectOnWorkerLost: the message goes back for another worker (celery/worker/request.py on_failure).
      const options = request.task.options;
      if (options.rejectOnWorkerLost ?? this.conf.rejectOnWorkerLost) {
        this.deps.logger.warn({ taskId: request.id }, `${thrown.message}; requeueing (rejectOnWorkerLost)`);
        request.reject(true);
        return this.deps.finish(request);
      }
    }
    if (mayAutoretry && matchesAutoretry(request.task.options, thrown)) {
      const countdown = autoretryCountdown(request.task.options, request.headers.retries);
      this.deps.retrier
        .retry(request, { exc: thrown, ...(countdown === undefined ? {} : { countdown }) })
        .catch((error: unknown) => this.onError(request, error, false));
      return;
    }
    this.settle(request, this.storeFailure(request, thrown));
  }

  /** Stores REVOKED, acks and announces, for a revoked or expired request (`Request._announce_revoked`). */
  async revokeRequest(
    request: Request,
    reason: 'revoked' | 'expired' | 'terminated',
    signal = 'SIGTERM',
  ): Promise<void> {
    const info = toExceptionInfo(new TaskRevokedError(reason));
    if (storesErrors(request, this.deps.store, this.conf))
      await this.deps.store.store(request, States.REVOKED, info, null);
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

  async storeFailure(request: Request, thrown: unknown): Promise<void> {
    const info = toExceptionInfo(thrown);
    const traceback = tracebackOf(thrown);
    const store = storesErrors(request, this.deps.store, this.conf) ? this.deps.store : undefined;
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

  /**
   * Frees the slot once `work` is done; an internal error acks so the message cannot loop.
   * An early-acked request has nothing left that needs its slot: it is freed now and `work`
   * (store, what follows, log, event) goes on in the background, counted until it settles.
   * With acksLate the order stays store, ack, free.
   */
  settle(request: Request, work: Promise<void>): void {
    if (request.acknowledged) {
      this.deps.background.track(request, work); // counted first: freeing the slot may start the next
      this.deps.finish(request);
      return;
    }
    work.then(
      () => this.deps.finish(request),
      (error: unknown) => {
        this.deps.logger.error(
          { err: error, taskId: request.id },
          `internal error finishing ${request.name}[${request.id}]`,
        );
        request.ack();
        this.deps.finish(request);
      },
    );
  }

  private storeSuccess(request: Request, value: unknown, store: boolean): Promise<void> {
    const { embed } = request.message;
    if (embed.callbacks || embed.chain || embed.chord) return this.followThenStore(request, value, store);
    // Nothing follows: store, then ack, without an async frame (every stored task comes here).
    return this.deps.store.store(request, States.SUCCESS, value, null).then((stored) => {
      if (!stored) return this.giveBack(request);
      request.ack();
      this.succeeded(request, value);
    });
  }

  /** Sends what follows (callbacks, the chain's next step, the chord part) first, then stores. */
  private async followThenStore(request: Request, value: unknown, store: boolean): Promise<void> {
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

  private async storeRetry(request: Request, retry: Retry): Promise<void> {
    // A Retry the task made itself (not through ctx.retry) has not been stored yet.
    if (!this.deps.retrier.wasStored(retry) && !(await this.deps.retrier.storeState(request, retry)))
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

  /** The outcome could not be stored: with acksLate the message goes back so nothing is lost. */
  private giveBack(request: Request): void {
    if (request.acknowledged) {
      this.deps.background.lost();
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
}
