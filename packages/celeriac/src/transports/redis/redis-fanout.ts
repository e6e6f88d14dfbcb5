import type { Redis } from 'ioredis';
import type { Logger } from '../../util/logger.ts';

type FanoutListener = (envelope: string) => void;

/**
 * Fanout exchanges over pub/sub, as kombu does them (kombu/transport/redis.py `_put_fanout`,
 * `_subscribe`): a publish is PUBLISH `/{db}.{exchange}[/{routing_key}]`, a bound queue PSUBSCRIBEs
 * its pattern. Nothing is stored in Redis: a message published while nobody listens is gone, as in kombu.
 * One subscriber connection per transport; ioredis re-subscribes after a reconnect.
 */
export class FanoutHub {
  private client: Redis | undefined;
  private subscriberPromise: Promise<Redis> | undefined;
  private readonly listeners = new Map<string, Set<FanoutListener>>();

  constructor(private readonly createSubscriber: () => Promise<Redis>) {}

  async subscribe(pattern: string, listener: FanoutListener): Promise<void> {
    const client = await this.subscriber();
    let set = this.listeners.get(pattern);
    if (set) {
      set.add(listener);
      return;
    }
    set = new Set([listener]);
    this.listeners.set(pattern, set);
    await client.psubscribe(pattern);
  }

  async unsubscribe(pattern: string, listener: FanoutListener): Promise<void> {
    const set = this.listeners.get(pattern);
    if (!set?.delete(listener) || set.size > 0) return;
    this.listeners.delete(pattern);
    if (this.client?.status === 'ready') await this.client.punsubscribe(pattern);
  }

  /** The subscriber connection, if one was opened (for close). */
  connection(): Redis | undefined {
    return this.client;
  }

  private subscriber(): Promise<Redis> {
    this.subscriberPromise ??= this.createSubscriber().then((client) => {
      client.on('pmessage', (pattern: string, _channel: string, message: string) => {
        const set = this.listeners.get(pattern);
        if (set) for (const listener of set) listener(message);
      });
      this.client = client;
      return client;
    });
    this.subscriberPromise.catch(() => (this.subscriberPromise = undefined));
    return this.subscriberPromise;
  }
}

/**
 * A queue bound to a fanout exchange. It subscribes when declared and buffers in memory until a
 * consumer attaches, so, within one process, a message published between declare and consume is
 * not lost (AMQP semantics; kombu subscribes only when consuming). Several consumers share it round
 * robin. An auto-delete queue goes away with its last consumer, as on RabbitMQ.
 */
export class FanoutQueue {
  private readonly buffer: string[] = [];
  private readonly consumers: FanoutListener[] = [];
  private next = 0;
  private subscribed = false;
  private warnedFull = false;
  private readonly onMessage = (raw: string) => this.receive(raw);

  constructor(
    readonly name: string,
    private patterns: string[],
    readonly autoDelete: boolean,
    private readonly hub: FanoutHub,
    private readonly logger: Logger,
    private readonly bufferLimit: number,
  ) {}

  async open(): Promise<void> {
    this.subscribed = true;
    for (const pattern of this.patterns) await this.hub.subscribe(pattern, this.onMessage);
  }

  /** Adds patterns from a later declaration of the same queue. */
  async addPatterns(patterns: readonly string[]): Promise<void> {
    for (const pattern of patterns) {
      if (this.patterns.includes(pattern)) continue;
      this.patterns.push(pattern);
      if (this.subscribed) await this.hub.subscribe(pattern, this.onMessage);
    }
  }

  /** Attaches a consumer: it first gets what was buffered. Returns the detach function and whether the queue is now gone. */
  attach(listener: FanoutListener): () => Promise<boolean> {
    this.consumers.push(listener);
    for (const raw of this.buffer.splice(0)) listener(raw);
    return async () => {
      const index = this.consumers.indexOf(listener);
      if (index >= 0) this.consumers.splice(index, 1);
      if (this.consumers.length === 0 && this.autoDelete) {
        await this.close();
        return true;
      }
      return false;
    };
  }

  async close(): Promise<void> {
    if (!this.subscribed) return;
    this.subscribed = false;
    this.buffer.length = 0;
    for (const pattern of this.patterns)
      await this.hub.unsubscribe(pattern, this.onMessage).catch(() => undefined);
  }

  private receive(raw: string): void {
    if (this.consumers.length > 0) {
      const consumer = this.consumers[this.next++ % this.consumers.length]!;
      consumer(raw);
      return;
    }
    if (this.buffer.length >= this.bufferLimit) {
      this.buffer.shift();
      if (!this.warnedFull) {
        this.warnedFull = true;
        this.logger.warn(
          { queue: this.name, limit: this.bufferLimit },
          'redis transport: fanout queue declared but not consumed; dropping its oldest buffered messages',
        );
      }
    }
    this.buffer.push(raw);
  }
}
