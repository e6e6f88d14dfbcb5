import type { Celeriac } from '../app/celeriac.ts';
import { decodePayload } from '../protocol/codec.ts';
import { encodeJson } from '../protocol/json.ts';
import type { Consumer, Delivery, Transport } from '../transports/transport.ts';
import { uuid } from '../util/ids.ts';
import { LamportClock } from './lamport-clock.ts';
import {
  PIDBOX_EXCHANGE,
  replyQueue,
  REPLY_EXCHANGE,
  type PidboxReply,
  type PidboxRequest,
} from './pidbox.ts';

export interface BroadcastTarget {
  /** Node names to address (exact match); every node when absent. */
  destination?: readonly string[];
  /** Address nodes whose name matches, instead of `destination`. */
  pattern?: string;
  /** How `pattern` matches: `glob` (default) or `pcre`. */
  matcher?: 'glob' | 'pcre';
}

export interface CallOptions extends BroadcastTarget {
  /** How long to collect replies. (Default: 1000 ms, as Celery) */
  timeoutMs?: number;
  /** Stop once this many replies arrived. (Default: the number of destinations, else no limit) */
  limit?: number;
  /** Called with each reply as it arrives (the CLI prints them live, as `celery inspect` does). */
  onReply?: (reply: PidboxReply) => void;
}

interface Collector {
  replies: PidboxReply[];
  limit: number | undefined;
  onReply: ((reply: PidboxReply) => void) | undefined;
  done: () => void;
}

/**
 * The client side of remote control (kombu/pidbox.py `Mailbox._broadcast`/`_collect`,
 * celery/app/control.py): publishes a request to the `celery.pidbox` fanout and collects the
 * replies that carry its ticket from this client's reply queue.
 *
 * One consumer on the reply queue serves every call in flight and is cancelled when none is, so
 * an idle client holds nothing on the broker (the queue is auto-delete).
 *
 * @example
 * const control = new ControlClient(app);
 * const replies = await control.inspect('ping'); // { 'celery@w1': { ok: 'pong' } }
 */
export class ControlClient {
  /** This client's reply routing key (Celery's mailbox oid). */
  readonly oid = uuid();
  readonly clock: LamportClock;
  private readonly collectors = new Map<string, Collector>();
  private consumer: Promise<Consumer> | undefined;
  private cancelling: Promise<void> = Promise.resolve();

  constructor(
    private readonly app: Celeriac,
    options: { clock?: LamportClock } = {},
  ) {
    this.clock = options.clock ?? new LamportClock();
  }

  /** Sends a command and returns each node's reply as `[{node: result}, ...]`, in arrival order. */
  async call(
    method: string,
    args: Record<string, unknown> = {},
    options: CallOptions = {},
  ): Promise<PidboxReply[]> {
    const timeoutMs = options.timeoutMs ?? 1000;
    const limit = options.limit ?? (options.destination?.length || undefined);
    const ticket = uuid();
    const transport = await this.app.connection();
    let finish!: () => void;
    const finished = new Promise<void>((resolve) => (finish = resolve));
    const collector: Collector = { replies: [], limit, onReply: options.onReply, done: finish };
    this.collectors.set(ticket, collector);
    let timer: NodeJS.Timeout | undefined;
    try {
      await this.ensureConsumer(transport);
      await this.publish(transport, method, args, options, {
        ticket,
        reply_to: { exchange: REPLY_EXCHANGE.name, routing_key: this.oid },
        expiresMs: timeoutMs,
      });
      timer = setTimeout(finish, timeoutMs);
      await finished;
      return collector.replies;
    } finally {
      clearTimeout(timer);
      this.collectors.delete(ticket);
      this.releaseConsumerIfIdle();
    }
  }

  /** Same as `call`, merged into one `{node: result}` map (Celery's `flatten_reply`). */
  async inspect(
    method: string,
    args: Record<string, unknown> = {},
    options: CallOptions = {},
  ): Promise<Record<string, unknown>> {
    return flattenReplies(await this.call(method, args, options));
  }

  /** Sends a command without waiting for replies (a cast; kombu's `cast`/`abcast`). */
  async cast(
    method: string,
    args: Record<string, unknown> = {},
    target: BroadcastTarget = {},
  ): Promise<void> {
    const transport = await this.app.connection();
    await this.publish(transport, method, args, target, undefined);
  }

  /** `{node: {ok: 'pong'}}` from every worker that answers within the timeout. */
  ping(options: CallOptions = {}): Promise<Record<string, unknown>> {
    return this.inspect('ping', {}, options);
  }

  /** Stops the reply consumer if one is running; calls in flight end with what they have. */
  async close(): Promise<void> {
    for (const collector of this.collectors.values()) collector.done();
    this.collectors.clear();
    this.releaseConsumerIfIdle();
    await this.cancelling;
  }

  private async publish(
    transport: Transport,
    method: string,
    args: Record<string, unknown>,
    target: BroadcastTarget,
    call: { ticket: string; reply_to: PidboxRequest['reply_to']; expiresMs: number } | undefined,
  ): Promise<void> {
    if (!method) throw new TypeError('remote control: a command name is required');
    if (target.destination !== undefined && !Array.isArray(target.destination)) {
      throw new TypeError('remote control: destination must be a list of node names');
    }
    const request: PidboxRequest = {
      method,
      arguments: args,
      destination: target.destination ? [...target.destination] : null,
      pattern: target.pattern ?? null,
      matcher: target.pattern ? (target.matcher ?? 'glob') : null,
    };
    if (call) {
      request.ticket = call.ticket;
      request.reply_to = call.reply_to;
    }
    await transport.declareExchange(PIDBOX_EXCHANGE);
    await transport.publish(
      {
        body: Buffer.from(encodeJson(request)),
        properties: {
          contentType: 'application/json',
          contentEncoding: 'utf-8',
          deliveryMode: 1,
          headers: { clock: this.clock.forward(), expires: call ? (Date.now() + call.expiresMs) / 1000 : 0 },
        },
      },
      { exchange: PIDBOX_EXCHANGE.name, routingKey: '' },
    );
  }

  private ensureConsumer(transport: Transport): Promise<Consumer> {
    this.consumer ??= this.cancelling.then(async () => {
      const queue = replyQueue(this.oid);
      await transport.declareExchange(REPLY_EXCHANGE);
      await transport.declareQueue(queue);
      return transport.consume([queue.name], { prefetch: 0, noAck: true }, (delivery) =>
        this.onReply(delivery),
      );
    });
    const consumer = this.consumer;
    consumer.catch(() => {
      if (this.consumer === consumer) this.consumer = undefined;
    });
    return consumer;
  }

  private releaseConsumerIfIdle(): void {
    if (this.collectors.size > 0 || !this.consumer) return;
    const consumer = this.consumer;
    this.consumer = undefined;
    this.cancelling = consumer.then(
      (c) => c.cancel().catch(() => undefined),
      () => undefined,
    );
  }

  private onReply(delivery: Delivery): void {
    const headers = delivery.message.properties.headers ?? {};
    this.clock.adjust(headers.clock ?? 0);
    const expires = headers.expires;
    if (typeof expires === 'number' && expires > 0 && Date.now() / 1000 > expires) return;
    const collector = typeof headers.ticket === 'string' ? this.collectors.get(headers.ticket) : undefined;
    if (!collector) return; // a late reply to a call that already returned
    let body: unknown;
    try {
      body = decodePayload(delivery.message);
    } catch (error) {
      this.app.logger.warn({ err: error }, 'remote control: dropped an undecodable reply');
      return;
    }
    if (typeof body !== 'object' || body === null || Array.isArray(body)) {
      this.app.logger.warn({ body }, 'remote control: dropped a reply that is not a {node: result} object');
      return;
    }
    const reply = body as PidboxReply;
    collector.replies.push(reply);
    try {
      collector.onReply?.(reply);
    } catch (error) {
      this.app.logger.warn({ err: error }, 'remote control: onReply callback failed');
    }
    if (collector.limit !== undefined && collector.replies.length >= collector.limit) collector.done();
  }
}

/** Merges `[{node: result}, ...]` into `{node: result}` (celery/app/control.py `flatten_reply`). */
export function flattenReplies(replies: readonly PidboxReply[]): Record<string, unknown> {
  const nodes: Record<string, unknown> = {};
  for (const reply of replies) Object.assign(nodes, reply);
  return nodes;
}
