import { parseIsoDate } from '../protocol/codec.ts';
import type { TaskHeaders, TaskMessage } from '../protocol/types.ts';
import type { TaskContext, RetryOptions } from '../task/context.ts';
import type { Task } from '../task/task.ts';
import type { Delivery } from '../transports/transport.ts';
import type { RequestInfo } from './introspection.ts';

/**
 * One task message received by the worker (celery/worker/request.py `Request`): the decoded
 * message, its delivery and what happened to it so far. Allocated once per message; the
 * AbortController and the bound-task context are created only when someone asks for them.
 */
export class Request {
  readonly id: string;
  /** The display name: `shadow` when the sender set one, else the task name. */
  readonly name: string;
  readonly headers: TaskHeaders;
  /** Epoch ms of the `eta` header, or 0. */
  readonly etaMs: number;
  /** Epoch ms of the `expires` header, or 0. */
  readonly expiresMs: number;
  /** Epoch ms the task started running, or 0. */
  timeStart = 0;
  acknowledged = false;
  /** Settled (acked or rejected) by the worker or the transport; later outcomes touch nothing. */
  settled = false;
  /** Given back at shutdown while still running: its outcome is not stored or acked. */
  abandoned = false;
  /**
   * Settled by the worker while its code may still run (hard time limit or terminate in the
   * async pool): whatever the code returns or throws later is dropped.
   */
  detached = false;
  /** Soft and hard time-limit timers while it runs. */
  softTimer: NodeJS.Timeout | undefined;
  hardTimer: NodeJS.Timeout | undefined;
  /** Tasks this one sent (callbacks, chain step), as result tuples for `children`. */
  children: unknown[] | undefined;
  private controller: AbortController | undefined;
  private abortReason: unknown;

  constructor(
    readonly message: TaskMessage,
    readonly delivery: Delivery,
    readonly task: Task<never[], unknown>,
  ) {
    const headers = message.headers;
    this.headers = headers;
    this.id = headers.id;
    this.name = headers.shadow ?? headers.task;
    this.etaMs = headers.eta === null ? 0 : parseIsoDate(headers.eta);
    this.expiresMs = headers.expires === null ? 0 : parseIsoDate(headers.expires);
  }

  get args(): unknown[] {
    return this.message.args;
  }

  get kwargs(): Record<string, unknown> {
    return this.message.kwargs;
  }

  isExpired(now: number): boolean {
    return this.expiresMs !== 0 && this.expiresMs <= now;
  }

  /** The task's AbortSignal, made on first use. */
  get signal(): AbortSignal {
    if (!this.controller) {
      this.controller = new AbortController();
      if (this.abortReason !== undefined) this.controller.abort(this.abortReason);
    }
    return this.controller.signal;
  }

  get aborted(): boolean {
    return this.abortReason !== undefined;
  }

  abort(reason: unknown): void {
    if (this.abortReason !== undefined) return;
    this.abortReason = reason ?? new Error('aborted');
    this.controller?.abort(this.abortReason);
  }

  ack(): void {
    if (this.settled) return;
    this.settled = true;
    this.acknowledged = true;
    this.delivery.ack();
  }

  reject(requeue: boolean): void {
    if (this.settled) return;
    this.settled = true;
    this.delivery.reject(requeue);
  }

  addChild(id: string): void {
    (this.children ??= []).push([[id, null], null]);
  }

  /** What `inspect active/reserved` shows (celery/worker/request.py `info`). */
  info(hostname: string): RequestInfo {
    return {
      id: this.id,
      name: this.name,
      args: this.args,
      kwargs: this.kwargs,
      type: this.headers.task,
      hostname,
      time_start: this.timeStart === 0 ? null : this.timeStart / 1000,
      acknowledged: this.acknowledged,
      delivery_info: {
        exchange: this.delivery.exchange,
        routing_key: this.delivery.routingKey,
        priority: this.message.priority ?? null,
        redelivered: this.delivery.redelivered,
      },
      worker_pid: this.timeStart === 0 ? null : process.pid,
    };
  }
}

/** What a bound task gets first: its request, seen through Celery's `self.request` names. */
export class RequestContext implements TaskContext {
  constructor(
    private readonly request: Request,
    readonly hostname: string,
    private readonly retrier: (request: Request, options: RetryOptions) => Promise<never>,
  ) {}

  get id(): string {
    return this.request.id;
  }
  get name(): string {
    return this.request.headers.task;
  }
  get retries(): number {
    return this.request.headers.retries;
  }
  get args(): readonly unknown[] {
    return this.request.args;
  }
  get kwargs(): Readonly<Record<string, unknown>> {
    return this.request.kwargs;
  }
  get rootId(): string {
    return this.request.headers.root_id;
  }
  get parentId(): string | null {
    return this.request.headers.parent_id;
  }
  get groupId(): string | null {
    return this.request.headers.group;
  }
  get eta(): string | null {
    return this.request.headers.eta;
  }
  get expires(): string | null {
    return this.request.headers.expires;
  }
  get headers(): Readonly<TaskHeaders> {
    return this.request.headers;
  }
  get signal(): AbortSignal {
    return this.request.signal;
  }
  get deliveryInfo(): TaskContext['deliveryInfo'] {
    const { delivery, message } = this.request;
    return {
      exchange: delivery.exchange,
      routingKey: delivery.routingKey,
      redelivered: delivery.redelivered,
      priority: message.priority,
    };
  }

  retry(options: RetryOptions = {}): Promise<never> {
    const pending = this.retrier(this.request, options);
    // `ctx.retry()` without await/throw must not crash the process with an unhandled rejection.
    pending.catch(() => undefined);
    return pending;
  }
}
