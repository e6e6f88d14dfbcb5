import { isoAt } from '../app/message-builder.ts';
import { encodeTaskMessage } from '../protocol/codec.ts';
import { argsRepr, saferepr } from '../protocol/repr.ts';
import type { RawMessage } from '../protocol/types.ts';
import type { RetryOptions } from '../task/context.ts';
import type { TaskOptions } from '../task/options.ts';
import type { Route } from '../transports/transport.ts';
import type { Request } from './request.ts';

/**
 * Celery's `get_exponential_backoff_interval` (celery/utils/time.py): `factor * 2^retries`
 * capped at `maximum`, then with full jitter a uniform integer in [0, countdown]. Seconds.
 */
export function exponentialBackoff(
  factor: number,
  retries: number,
  maximum: number,
  fullJitter: boolean,
  random: () => number = Math.random,
): number {
  let countdown = Math.min(maximum, factor * 2 ** retries);
  if (fullJitter) countdown = Math.floor(random() * (Math.floor(countdown) + 1));
  return Math.max(0, Math.min(maximum, countdown));
}

/** The countdown (s) an `autoretryFor` retry uses: back-off when configured, else the default delay. */
export function autoretryCountdown(options: Readonly<TaskOptions>, retries: number): number | undefined {
  const backoff = options.retryBackoff;
  if (backoff === undefined || backoff === false) return undefined;
  // celery/app/autoretry.py: factor=int(max(1.0, retry_backoff)), so `true` is a 1 s base.
  const factor = Math.trunc(Math.max(1, backoff === true ? 1 : backoff));
  return exponentialBackoff(factor, retries, options.retryBackoffMax ?? 600, options.retryJitter ?? true);
}

/** Does `error` match one of the task's `autoretryFor` entries (a class or an error name)? */
export function matchesAutoretry(options: Readonly<TaskOptions>, error: unknown): boolean {
  const list = options.autoretryFor;
  if (!list || list.length === 0) return false;
  for (const entry of list) {
    if (typeof entry === 'string') {
      if (error instanceof Error && error.name === entry) return true;
    } else if (error instanceof (entry as abstract new (...args: never[]) => Error)) {
      return true;
    }
  }
  return false;
}

/**
 * The retry message: the same id with `retries + 1` and a new `eta`, keeping every other header
 * (root/parent, group, expires, timelimit, custom headers, origin), the embed (chain, chord,
 * link, link_error), reply_to and priority, as `Task.signature_from_request` does (celery/app/task.py).
 */
export function buildRetryMessage(
  request: Request,
  options: RetryOptions,
  etaMs: number,
  now: number,
): RawMessage {
  const { message } = request;
  const args = options.args ?? message.args;
  const kwargs = options.kwargs ?? message.kwargs;
  const headers = {
    ...message.headers,
    retries: message.headers.retries + 1,
    eta: isoAt(etaMs),
    argsrepr: options.args ? argsRepr(args) : message.headers.argsrepr,
    kwargsrepr: options.kwargs ? saferepr(kwargs) : message.headers.kwargsrepr,
  };
  return encodeTaskMessage({
    headers,
    args,
    kwargs,
    embed: message.embed,
    replyTo: message.replyTo,
    priority: options.priority ?? message.priority,
    expirationMs: request.expiresMs === 0 ? undefined : Math.max(0, request.expiresMs - now),
  });
}

/**
 * Where a retry goes (celery/app/task.py `retry`): a message that came through the default
 * exchange goes to the queue named by its routing key; otherwise to the same exchange and key.
 */
export function retryRoute(request: Request, queue: string | undefined): Route {
  if (queue !== undefined) return { exchange: '', routingKey: queue };
  const { exchange, routingKey } = request.delivery;
  return exchange === '' ? { exchange: '', routingKey } : { exchange, routingKey };
}
