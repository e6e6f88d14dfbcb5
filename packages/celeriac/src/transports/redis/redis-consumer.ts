import type { Redis } from 'ioredis';
import type { Logger } from '../../util/logger.ts';
import type { ConsumeOptions, Consumer, Delivery, DeliveryHandler } from '../transport.ts';
import { epochSeconds, type AckEmulation } from './redis-ack-emulation.ts';
import { deadEnvelope } from './redis-dead-letter.ts';
import { RedisDelivery, settledDelivery, tagOf, type DeliveryHolder } from './redis-delivery.ts';
import { decodeEnvelope, type DecodedEnvelope } from './redis-envelope.ts';
import type { FanoutQueue } from './redis-fanout.ts';
import type { RedisKeys } from './redis-keys.ts';
import { ADOPT, FETCH } from './redis-scripts.ts';
import type { RedisTransportConfig } from './redis-transport-config.ts';

/** What a consumer needs from its transport. */
export interface ConsumerContext {
  client: Redis;
  /** A connection of its own for BRPOP, closed with the consumer. */
  blocking: Redis;
  keys: RedisKeys;
  ackEmulation: AckEmulation;
  config: RedisTransportConfig;
  logger: Logger;
  onCancelled: () => Promise<void>;
  /** An auto-delete fanout queue lost its last consumer. */
  onFanoutQueueGone: (queue: string) => void;
}

const noop = (): void => undefined;

/** BRPOP timeout when the queues are empty, as kombu (`_brpop_start(timeout=1)`). */
const BRPOP_TIMEOUT_S = 1;

/**
 * Consumes list queues and fanout-bound queues. List queues: while the prefetch window has room, an
 * atomic FETCH script pops a batch and records it unacked; when the lists are empty, a BRPOP on a
 * connection of our own waits (1 s at a time) for the next one, then ADOPT records it. Fanout queues:
 * PSUBSCRIBE, delivered as settled (pub/sub keeps nothing to ack).
 */
export class RedisConsumer implements Consumer, DeliveryHolder {
  private readonly held = new Map<string, RedisDelivery>();
  private readonly pendingAcks: string[] = [];
  private readonly settling = new Set<Promise<unknown>>();
  private readonly fanoutDetachers: Array<{ queue: string; detach: () => Promise<boolean> }> = [];
  private flushScheduled = false;
  private cancelled = false;
  private wake: (() => void) | undefined;
  private loop: Promise<void> = Promise.resolve();
  private blockingId: number | undefined;
  private failing = false;
  private listQueues: string[];

  constructor(
    private readonly ctx: ConsumerContext,
    listQueues: readonly string[],
    private readonly fanoutQueues: readonly FanoutQueue[],
    private options: ConsumeOptions,
    private readonly onDelivery: DeliveryHandler,
  ) {
    this.listQueues = [...listQueues];
  }

  async start(): Promise<void> {
    for (const queue of this.fanoutQueues) {
      const detach = queue.attach((raw) => this.onFanoutMessage(queue.name, raw));
      this.fanoutDetachers.push({ queue: queue.name, detach });
    }
    if (this.listQueues.length > 0) {
      this.ctx.blocking.on('ready', () => void this.readBlockingId());
      await this.readBlockingId();
      this.loop = this.run();
    }
  }

  /** Unacked deliveries this consumer holds (for the visibility refresh and for restore on close). */
  heldTags(): IterableIterator<string> {
    return this.held.keys();
  }

  get heldCount(): number {
    return this.held.size;
  }

  get isCancelled(): boolean {
    return this.cancelled;
  }

  async setPrefetch(count: number): Promise<void> {
    this.options = { ...this.options, prefetch: count };
    this.wake?.();
  }

  async cancel(): Promise<void> {
    if (this.cancelled) return;
    this.cancelled = true;
    this.wake?.();
    for (const { queue, detach } of this.fanoutDetachers) {
      if (await detach()) this.ctx.onFanoutQueueGone(queue);
    }
    // Ends a BRPOP in progress at once, the safe way: the server answers it as a timeout.
    if (this.blockingId !== undefined && this.ctx.client.status === 'ready') {
      await this.ctx.client.client('UNBLOCK', this.blockingId, 'TIMEOUT').catch(() => undefined);
    }
    // A BRPOP waiting for a lost connection would wait forever: give it a moment, then drop the socket.
    let timer: NodeJS.Timeout | undefined;
    const stuck = new Promise<'stuck'>(
      (resolve) => (timer = setTimeout(() => resolve('stuck'), 2 * BRPOP_TIMEOUT_S * 1000)),
    );
    if ((await Promise.race([this.loop, stuck])) === 'stuck') {
      this.ctx.blocking.disconnect();
      await this.loop;
    }
    clearTimeout(timer);
    await this.ctx.onCancelled();
  }

  /** Flushes pending acks, then gives every unsettled delivery back to its queue (kombu `restore_unacked`). */
  async shutdown(): Promise<void> {
    await this.cancel();
    await this.flushAcks();
    await Promise.allSettled([...this.settling]);
    for (const delivery of [...this.held.values()]) {
      delivery.markSettled();
      this.held.delete(delivery.deliveryTag);
      await this.ctx.ackEmulation
        .restoreOwn(delivery.deliveryTag, delivery.raw, false)
        .catch((error) =>
          this.ctx.logger.error(
            { err: error },
            'redis transport: could not restore an unacked delivery on close; it returns after the visibility timeout',
          ),
        );
    }
  }

  private room(): number {
    if (this.options.noAck || this.options.prefetch <= 0) return Number.POSITIVE_INFINITY;
    return this.options.prefetch - this.held.size;
  }

  private async run(): Promise<void> {
    while (!this.cancelled) {
      const room = this.room();
      if (room <= 0) {
        await new Promise<void>((resolve) => (this.wake = resolve));
        this.wake = undefined;
        continue;
      }
      try {
        const fetched = await this.fetch(Math.min(room, this.ctx.config.fetchBatchSize));
        if (fetched === 0 && !this.cancelled) await this.waitAndPop();
        if (this.failing) {
          this.failing = false;
          this.ctx.logger.info({ queues: this.listQueues }, 'redis transport: consuming again');
        }
      } catch (error) {
        if (this.cancelled) break;
        if (!this.failing)
          this.ctx.logger.warn(
            { err: error, queues: this.listQueues },
            'redis transport: consume failed; retrying',
          );
        this.failing = true;
        await new Promise<void>((resolve) => {
          const timer = setTimeout(resolve, 1000);
          this.wake = () => {
            clearTimeout(timer);
            resolve();
          };
        });
        this.wake = undefined;
      }
    }
  }

  /** Lists in BRPOP order: every queue at the highest priority, then every queue at the next, ... */
  private orderedLists(): { lists: string[]; queues: string[] } {
    const lists: string[] = [];
    const queues: string[] = [];
    for (const step of this.ctx.config.prioritySteps) {
      for (const queue of this.listQueues) {
        lists.push(this.ctx.keys.queueList(queue, step));
        queues.push(queue);
      }
    }
    return { lists, queues };
  }

  /** Round robin between queues (kombu `_queue_cycle.rotate`): the queue just served goes last. */
  private rotate(queue: string): void {
    const index = this.listQueues.indexOf(queue);
    if (index >= 0 && this.listQueues.length > 1) {
      this.listQueues.splice(index, 1);
      this.listQueues.push(queue);
    }
  }

  private async fetch(max: number): Promise<number> {
    const { lists, queues } = this.orderedLists();
    const deadLists = queues.map((q) => this.ctx.keys.deadList(q));
    const { unacked, unackedIndex } = this.ctx.keys;
    const noAck = this.options.noAck ? '1' : '0';
    const reply = (await FETCH.run(
      this.ctx.client,
      [unacked, unackedIndex, ...lists, ...deadLists],
      [String(max), String(epochSeconds()), noAck, ...queues],
    )) as Array<number | string>;
    let lastQueue: string | undefined;
    for (let i = 0; i + 1 < reply.length; i += 2) {
      const index = reply[i] as number;
      const raw = reply[i + 1] as string;
      const queue = queues[Math.abs(index) - 1]!;
      lastQueue = queue;
      if (index < 0)
        this.logDead(queue, raw, 'not a kombu envelope (not JSON, or no properties.delivery_tag)');
      else this.deliverListItem(queue, raw);
    }
    if (lastQueue) this.rotate(lastQueue);
    return reply.length / 2;
  }

  private async waitAndPop(): Promise<void> {
    const { lists, queues } = this.orderedLists();
    const popped = await this.ctx.blocking.brpop(...lists, BRPOP_TIMEOUT_S);
    if (!popped) return;
    const [list, raw] = popped;
    const queue = queues[lists.indexOf(list)] ?? list;
    if (this.cancelled) {
      // Cancelled while waiting: put it back where it is taken next.
      await this.ctx.client.rpush(list, raw);
      return;
    }
    let adopted: unknown;
    try {
      adopted = await ADOPT.run(
        this.ctx.client,
        [this.ctx.keys.unacked, this.ctx.keys.unackedIndex, list, this.ctx.keys.deadList(queue)],
        ['1', String(epochSeconds()), this.options.noAck ? '1' : '0', queue, raw],
      );
    } catch (error) {
      // Popped but not recorded: put it back through the connection that just worked, or say what it was.
      await this.ctx.blocking.rpush(list, raw).catch((pushError) => {
        this.ctx.logger.error(
          { err: pushError, list, item: raw },
          'redis transport: a popped message could not be recorded nor put back',
        );
      });
      throw error;
    }
    this.rotate(queue);
    if (adopted === 1) this.deliverListItem(queue, raw);
    else this.logDead(queue, raw, 'not a kombu envelope (not JSON, or no properties.delivery_tag)');
  }

  private deliverListItem(queue: string, raw: string): void {
    let decoded: DecodedEnvelope;
    try {
      decoded = decodeEnvelope(raw, queue);
    } catch (error) {
      // The script accepted it but its body is broken: out of `unacked`, into the dead list.
      const tag = tagOf(raw);
      const why = (error as Error).message;
      this.logDead(queue, raw, why);
      const done = this.ctx.ackEmulation
        .deadLetter(
          this.options.noAck ? undefined : tag,
          deadEnvelope(raw, queue, why),
          this.ctx.keys.deadList(queue),
        )
        .catch((err) =>
          this.ctx.logger.error(
            { err },
            'redis transport: could not move a bad envelope to the dead list; it returns after the visibility timeout',
          ),
        );
      this.track(done);
      return;
    }
    if (this.options.noAck) {
      this.hand(settledDelivery(decoded));
      return;
    }
    const delivery = new RedisDelivery(decoded, raw, queue, this);
    this.held.set(delivery.deliveryTag, delivery);
    this.hand(delivery);
  }

  private onFanoutMessage(queue: string, raw: string): void {
    if (this.cancelled) return;
    let decoded: DecodedEnvelope;
    try {
      decoded = decodeEnvelope(raw, queue);
    } catch (error) {
      this.logDead(queue, raw, (error as Error).message);
      this.track(this.ctx.client.lpush(this.ctx.keys.deadList(queue), raw).catch(() => undefined));
      return;
    }
    this.hand(settledDelivery(decoded));
  }

  private hand(delivery: Delivery): void {
    try {
      this.onDelivery(delivery);
    } catch (error) {
      this.ctx.logger.error({ err: error }, 'redis transport: delivery handler threw');
    }
  }

  settle(delivery: RedisDelivery, requeue: boolean | null): void {
    if (this.held.get(delivery.deliveryTag) !== delivery) return;
    this.held.delete(delivery.deliveryTag);
    if (requeue) {
      // kombu `QoS.reject(requeue=True)`: LPUSH back (the end served last), then ack.
      this.track(
        this.ctx.ackEmulation
          .restoreOwn(delivery.deliveryTag, delivery.raw, true)
          .catch((error) =>
            this.ctx.logger.error(
              { err: error },
              'redis transport: requeue failed; the message returns after the visibility timeout',
            ),
          ),
      );
    } else {
      this.pendingAcks.push(delivery.deliveryTag);
      if (!this.flushScheduled) {
        this.flushScheduled = true;
        setImmediate(() => void this.flushAcks());
      }
    }
    this.wake?.();
  }

  /**
   * Transport.deadLetter for a delivery we hold: `<queue>.dead` gets the envelope with the reason, and
   * `unacked` loses it, in one script. Tracked, so shutdown waits for it before restoring what is held.
   */
  async setAside(delivery: RedisDelivery, reason: string): Promise<void> {
    const tag = delivery.deliveryTag;
    if (this.held.get(tag) !== delivery) {
      throw new Error(`redis transport: delivery ${tag} is not held by this consumer`);
    }
    const deadList = this.ctx.keys.deadList(delivery.queue);
    const moved = this.ctx.ackEmulation
      .deadLetter(tag, deadEnvelope(delivery.raw, delivery.queue, reason), deadList)
      .then((wasHeld) => {
        // Forgotten before shutdown() (which awaits this) restores what is still held.
        if (this.held.get(tag) === delivery) this.held.delete(tag);
        this.wake?.();
        return wasHeld;
      });
    // Tracked settled either way: a failure is the caller's to handle, not an unhandled rejection here.
    this.track(moved.then(noop, noop));
    if (!(await moved)) {
      this.ctx.logger.warn(
        { queue: delivery.queue, tag, reason },
        'redis transport: a delivery to dead-letter was no longer unacked (restored to its queue after the visibility timeout); left where it is',
      );
    }
  }

  /** Acks settled since the last flush, in one MULTI (ZREM + HDEL of many tags). */
  private async flushAcks(): Promise<void> {
    this.flushScheduled = false;
    if (this.pendingAcks.length === 0) return;
    const tags = this.pendingAcks.splice(0);
    await this.track(
      this.ctx.ackEmulation
        .ack(tags)
        .catch((error) =>
          this.ctx.logger.error(
            { err: error, count: tags.length },
            'redis transport: ack failed; those messages return after the visibility timeout',
          ),
        ),
    );
  }

  private track<T>(promise: Promise<T>): Promise<T> {
    this.settling.add(promise);
    void promise.finally(() => this.settling.delete(promise));
    return promise;
  }

  private logDead(queue: string, raw: string, why: string): void {
    this.ctx.logger.error(
      { queue, deadList: this.ctx.keys.deadList(queue), item: raw.slice(0, 512) },
      `redis transport: ${why}; moved to the dead list`,
    );
  }

  private async readBlockingId(): Promise<void> {
    try {
      this.blockingId = (await this.ctx.blocking.client('ID')) as number;
    } catch {
      this.blockingId = undefined;
    }
  }
}
