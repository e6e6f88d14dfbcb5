import type { Celeriac } from '../app/celeriac.ts';
import { toExceptionInfo, tracebackOf } from '../result/exceptions.ts';
import { States } from '../result/states.ts';
import type { RetryOptions } from '../task/context.ts';
import { MaxRetriesExceededError, Reject, Retry } from '../task/errors.ts';
import type { Transport } from '../transports/transport.ts';
import type { Request } from './request.ts';
import type { ResultStore } from './result-store.ts';
import { storesErrors } from './result-policy.ts';
import { buildRetryMessage, retryRoute } from './retry.ts';

export interface TaskRetryDeps {
  app: Celeriac;
  transport: Transport;
  store: ResultStore;
}

/** `ctx.retry()` (celery/app/task.py `Task.retry`): stores RETRY, republishes, throws Retry. */
export class TaskRetrier {
  /** Retries whose RETRY state `retry()` already stored. */
  private readonly stored = new WeakSet<Retry>();

  constructor(private readonly deps: TaskRetryDeps) {}

  /** Republishes the task and rejects with Retry (or the error when retries ran out). */
  readonly retry = async (request: Request, options: RetryOptions): Promise<never> => {
    const { task, headers } = request;
    const conf = this.deps.app.conf;
    const maxRetries =
      options.maxRetries !== undefined
        ? options.maxRetries
        : task.options.maxRetries !== undefined
          ? task.options.maxRetries
          : conf.maxRetries;
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
          : conf.defaultRetryDelayMs;
    const etaMs = options.eta ? options.eta.getTime() : now + delayMs;
    const message = buildRetryMessage(request, options, etaMs, now);
    const retry = new Retry(options.exc, etaMs);
    // RETRY is stored before the new message goes out (Celery stores it after), so a fast retry's
    // FAILURE or SUCCESS can never be overwritten by this run's late RETRY.
    if (!(await this.storeState(request, retry)) && !request.acknowledged) {
      throw new Reject(`the RETRY state of ${request.id} could not be stored; giving the message back`, true);
    }
    this.stored.add(retry);
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

  /** Stores RETRY for `retry`; false when the backend could not. */
  storeState(request: Request, retry: Retry): Promise<boolean> {
    if (!storesErrors(request, this.deps.store, this.deps.app.conf)) return Promise.resolve(true);
    const exc = retry.reason;
    return this.deps.store.store(
      request,
      States.RETRY,
      exc === undefined ? null : toExceptionInfo(exc),
      tracebackOf(exc === undefined ? retry : exc),
    );
  }

  /** True when `retry()` already stored this Retry (a Retry the task made itself is not). */
  wasStored(retry: Retry): boolean {
    return this.stored.has(retry);
  }
}
