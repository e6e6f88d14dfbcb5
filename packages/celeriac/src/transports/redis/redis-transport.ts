import type { Redis } from 'ioredis';
import type { RawMessage } from '../../protocol/types.ts';
import type { Logger } from '../../util/logger.ts';
import type { TransportOptions } from '../create-transport.ts';
import type {
  ConsumeOptions,
  Consumer,
  Delivery,
  DeliveryHandler,
  ExchangeSpec,
  QueueSpec,
  QueueStats,
  Route,
  Transport,
  TransportCapabilities,
  TransportStatus,
} from '../transport.ts';
import { AckEmulation } from './redis-ack-emulation.ts';
import { closeClient, connectClient, createClient, RedisConnectionError } from './redis-connection.ts';
import { RedisConsumer } from './redis-consumer.ts';
import { RedisDelivery } from './redis-delivery.ts';
import { buildEnvelope, encodeEnvelope, withFreshTag } from './redis-envelope.ts';
import { FanoutHub, FanoutQueue } from './redis-fanout.ts';
import { RedisKeys } from './redis-keys.ts';
import { redisQueueStats } from './redis-queue-stats.ts';
import { execOrThrow, RedisRouting } from './redis-routing.ts';
import { resolveRedisTransportConfig, type RedisTransportConfig } from './redis-transport-config.ts';

/**
 * `redis://[:password@]host:port/db`: kombu's Redis transport, key for key, so Python and Celeriac
 * workers share one Redis (kombu/transport/redis.py, reference §3).
 *
 * - Queues are lists; producers LPUSH kombu's JSON envelope, consumers pop from the other end.
 * - Priorities: 0..9 mapped onto `prioritySteps` ([0, 3, 6, 9]) with one list per step.
 *   **On Redis a lower number is served first** (0 before 9), the reverse of RabbitMQ; this is kombu's
 *   behaviour and Python workers sharing the queue do the same.
 * - Acks are emulated with the `unacked` hash and `unacked_index` sorted set; a delivery unacked for
 *   longer than `visibilityTimeout` (default 1 h) is given back by any consumer. Celeriac keeps the
 *   deliveries it holds fresh, so a long ETA or a long task is not run twice (kombu#337); if the
 *   worker dies they come back after the timeout.
 * - Fanout exchanges (events, remote control) use pub/sub: not persisted, no TTL ("Supports TTL: No").
 * - An item in a list that is not a kombu envelope goes to `<queue>.dead` with an error log; so does a
 *   delivery the worker cannot run (`deadLetter`), with the reason in its headers.
 */
export class RedisTransport implements Transport {
  readonly name = 'redis';
  readonly capabilities: TransportCapabilities = Object.freeze({
    // Held deliveries are refreshed instead of parked: holding an ETA is safe on Redis.
    delayedRedelivery: false,
    priority: true,
    fanout: true,
    messageTtl: false,
  });
  readonly safeUrl: string;
  readonly config: RedisTransportConfig;
  private readonly keys: RedisKeys;
  private readonly routing: RedisRouting;
  private readonly logger: Logger;
  private readonly listeners = new Set<(status: TransportStatus) => void>();
  private readonly consumers = new Set<RedisConsumer>();
  private readonly fanout: FanoutHub;
  private readonly fanoutQueues = new Map<string, FanoutQueue>();
  private client: Redis | undefined;
  private ackEmulation: AckEmulation | undefined;
  private connecting: Promise<void> | undefined;
  private closed = false;
  private restoreTimer: NodeJS.Timeout | undefined;
  private refreshTimer: NodeJS.Timeout | undefined;
  private restoring = false;
  private blockingCount = 0;

  constructor(
    url: string,
    private readonly options: TransportOptions,
  ) {
    this.config = resolveRedisTransportConfig(url, options.options);
    this.safeUrl = this.config.safeUrl;
    this.logger = options.logger;
    this.keys = new RedisKeys(this.config);
    this.routing = new RedisRouting(this.keys, this.config.fanoutExchanges);
    this.fanout = new FanoutHub(async () => {
      const subscriber = this.newClient('subscriber', true);
      await connectClient(subscriber, this.safeUrl);
      return subscriber;
    });
  }

  connect(): Promise<void> {
    if (this.closed) return Promise.reject(new RedisConnectionError('redis transport is closed'));
    this.connecting ??= (async () => {
      const client = createClient({
        config: this.config,
        logger: this.logger,
        role: 'main',
        connectionMaxRetries: this.options.connectionMaxRetries,
        onStatus: (status) => this.emit(status),
      });
      this.client = client;
      this.ackEmulation = new AckEmulation(client, this.keys, this.routing, this.config, this.logger);
      try {
        await connectClient(client, this.safeUrl);
      } catch (error) {
        client.disconnect();
        this.client = undefined;
        throw error;
      }
    })();
    this.connecting.catch(() => (this.connecting = undefined));
    return this.connecting;
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.stopTimers();
    for (const consumer of [...this.consumers]) await consumer.shutdown();
    for (const queue of this.fanoutQueues.values()) await queue.close();
    this.fanoutQueues.clear();
    const client = this.client;
    if (client && client.status === 'ready') {
      // kombu `Channel.close`: auto-delete queues bound to fanout exchanges lose their bindings.
      for (const queue of this.routing.autoDeleteQueues()) {
        await this.routing.forgetQueue(client, queue).catch(() => undefined);
      }
    }
    const subscriber = this.fanout.connection();
    if (subscriber) await closeClient(subscriber);
    if (client) await closeClient(client);
    this.emit({ state: 'closed' });
  }

  async declareExchange(exchange: ExchangeSpec): Promise<void> {
    this.routing.declareExchange(exchange);
  }

  async declareQueue(queue: QueueSpec): Promise<void> {
    await this.routing.declareQueue(await this.ready(), queue);
    const patterns = this.routing.fanoutPatterns(queue.name);
    if (!patterns) return;
    const existing = this.fanoutQueues.get(queue.name);
    if (existing) {
      await existing.addPatterns(patterns);
      return;
    }
    const fanoutQueue = new FanoutQueue(
      queue.name,
      [...patterns],
      this.routing.isAutoDelete(queue.name),
      this.fanout,
      this.logger,
      this.config.fanoutBufferSize,
    );
    this.fanoutQueues.set(queue.name, fanoutQueue);
    await fanoutQueue.open();
  }

  async deleteQueue(name: string): Promise<void> {
    const client = await this.ready();
    await this.fanoutQueues.get(name)?.close();
    this.fanoutQueues.delete(name);
    await this.routing.unbindEverywhere(client, name);
    await client.del(...this.keys.queueLists(name));
  }

  async publish(message: RawMessage, route: Route): Promise<void> {
    const client = await this.ready();
    const { exchange, routingKey } = route;
    const envelope = buildEnvelope(message, exchange, routingKey);
    if (exchange !== '' && this.routing.typeOf(exchange) === 'fanout') {
      await client.publish(this.keys.fanoutChannel(exchange, routingKey), encodeEnvelope(envelope));
      return;
    }
    const queues = await this.routing.lookup(client, exchange, routingKey);
    if (queues.length === 0) {
      // As RabbitMQ does with an unroutable message published without `mandatory`.
      this.logger.warn(
        { exchange, routingKey },
        'redis transport: no queue bound for this routing key; message dropped',
      );
      return;
    }
    const step = this.keys.priorityStep(message.properties.priority);
    if (queues.length === 1) {
      await client.lpush(this.keys.queueList(queues[0]!, step), encodeEnvelope(envelope));
      return;
    }
    const pipeline = client.pipeline();
    queues.forEach((queue, i) => {
      pipeline.lpush(
        this.keys.queueList(queue, step),
        encodeEnvelope(i === 0 ? envelope : withFreshTag(envelope)),
      );
    });
    await execOrThrow(pipeline);
  }

  async consume(
    queues: readonly string[],
    options: ConsumeOptions,
    onDelivery: DeliveryHandler,
  ): Promise<Consumer> {
    const client = await this.ready();
    const listQueues: string[] = [];
    const fanoutQueues: FanoutQueue[] = [];
    for (const queue of queues) {
      const fanout = this.fanoutQueues.get(queue);
      if (fanout) fanoutQueues.push(fanout);
      else listQueues.push(queue);
    }
    const blocking = this.newClient(`blocking:${++this.blockingCount}`, true);
    if (listQueues.length > 0) await connectClient(blocking, this.safeUrl);
    const consumer: RedisConsumer = new RedisConsumer(
      {
        client,
        blocking,
        keys: this.keys,
        ackEmulation: this.ackEmulation!,
        config: this.config,
        logger: this.logger,
        // A cancelled consumer stays listed while it holds deliveries: they are still refreshed,
        // and restored on close(); refreshHeld() forgets it once it holds none.
        onCancelled: () => closeClient(blocking),
        onFanoutQueueGone: (queue) => {
          this.fanoutQueues.delete(queue);
          void this.routing.forgetQueue(client, queue).catch(() => undefined);
        },
      },
      listQueues,
      fanoutQueues,
      options,
      onDelivery,
    );
    this.consumers.add(consumer);
    try {
      await consumer.start();
    } catch (error) {
      await consumer.cancel();
      throw error;
    }
    if (listQueues.length > 0) {
      // kombu restores stale deliveries when a consumer starts polling (`on_poll_init`).
      await this.restoreVisible();
      this.startTimers();
    }
    return consumer;
  }

  async purge(queue: string): Promise<number> {
    const client = await this.ready();
    const pipeline = client.pipeline();
    for (const list of this.keys.queueLists(queue)) pipeline.llen(list).del(list);
    const results = await execOrThrow(pipeline);
    return results.filter((_, i) => i % 2 === 0).reduce<number>((sum, n) => sum + Number(n), 0);
  }

  async queueLength(queue: string): Promise<number> {
    const client = await this.ready();
    const pipeline = client.pipeline();
    for (const list of this.keys.queueLists(queue)) pipeline.llen(list);
    const results = await execOrThrow(pipeline);
    return results.reduce<number>((sum, n) => sum + Number(n), 0);
  }

  /**
   * Moves the delivery from `unacked` to the `<queue>.dead` list (the queue it was popped from), with
   * `x-celeriac-dead-reason`, `-queue` and `-at` in its headers, in one atomic script (redis-scripts.ts
   * DEAD_LETTER). Rejects, leaving the delivery unacked and unsettled, if Redis could not do it.
   */
  async deadLetter(delivery: Delivery, reason: string): Promise<void> {
    if (!(delivery instanceof RedisDelivery)) {
      throw new TypeError('deadLetter needs a delivery from a redis transport consumer with acks');
    }
    await delivery.deadLetter(reason);
  }

  /** LLEN over each queue's priority lists and the `unacked` hash split by queue (redis-queue-stats.ts). */
  async queueStats(queues: readonly string[]): Promise<Map<string, QueueStats | null>> {
    return redisQueueStats(await this.ready(), this.keys, this.routing, queues);
  }

  onStatus(listener: (status: TransportStatus) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /**
   * Runs kombu's restore_visible once now (consumers also run it every `restoreIntervalMs`).
   * Returns how many deliveries went back to their queues.
   */
  async restoreVisible(): Promise<number> {
    if (this.restoring || !this.ackEmulation) return 0;
    this.restoring = true;
    try {
      return await this.ackEmulation.restoreVisible();
    } catch (error) {
      this.logger.warn({ err: error }, 'redis transport: restoring unacked messages failed; will retry');
      return 0;
    } finally {
      this.restoring = false;
    }
  }

  private async ready(): Promise<Redis> {
    if (this.closed) throw new RedisConnectionError('redis transport is closed');
    await this.connect();
    return this.client!;
  }

  private newClient(role: string, waitForever: boolean): Redis {
    return createClient({
      config: this.config,
      logger: this.logger,
      role,
      connectionMaxRetries: this.options.connectionMaxRetries,
      waitForever,
    });
  }

  private startTimers(): void {
    this.restoreTimer ??= setInterval(() => void this.restoreVisible(), this.config.restoreIntervalMs);
    this.refreshTimer ??= setInterval(() => void this.refreshHeld(), this.config.heldRefreshMs);
  }

  private stopTimers(): void {
    clearInterval(this.restoreTimer);
    clearInterval(this.refreshTimer);
    this.restoreTimer = undefined;
    this.refreshTimer = undefined;
  }

  private async refreshHeld(): Promise<void> {
    const tags: string[] = [];
    for (const consumer of this.consumers) {
      for (const tag of consumer.heldTags()) tags.push(tag);
      if (consumer.isCancelled && consumer.heldCount === 0) this.consumers.delete(consumer);
    }
    if (this.consumers.size === 0) this.stopTimers();
    try {
      await this.ackEmulation?.refresh(tags);
    } catch (error) {
      this.logger.warn(
        { err: error, held: tags.length },
        'redis transport: could not refresh held deliveries',
      );
    }
  }

  private emit(status: TransportStatus): void {
    for (const listener of this.listeners) {
      try {
        listener(status);
      } catch (error) {
        this.logger.error({ err: error }, 'redis transport: status listener threw');
      }
    }
  }
}
