import type { ChannelModel } from 'amqplib';
import type { MessageProperties, RawMessage } from '../../protocol/types.ts';
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
import { AmqpConnection } from './amqp-connection.ts';
import { AmqpConsumer } from './amqp-consumer.ts';
import { deadLetterCopy, deadQueueName, deadQueueSpec } from './amqp-dead-letter.ts';
import { AmqpDelayBuckets } from './amqp-delay.ts';
import { AmqpDelivery } from './amqp-delivery.ts';
import { AmqpClosedError, AmqpPublishError, AmqpTransportError } from './amqp-errors.ts';
import { AmqpOperations } from './amqp-operations.ts';
import { toPublishOptions } from './amqp-properties.ts';
import { AmqpPublisher } from './amqp-publisher.ts';
import { AmqpTopology } from './amqp-topology.ts';
import { resolveAmqpConfig, type AmqpTransportConfig } from './amqp-transport-config.ts';

/**
 * `amqp://user:pass@host:5672/vhost`: RabbitMQ over AMQP 0-9-1 (amqplib), as kombu's `pyamqp` transport
 * speaks it. Supports priorities (queues with `x-max-priority`), fanout and topic exchanges, per-message
 * TTL, and delayed redelivery through delay queues. Publisher confirms on every publish.
 */
export class AmqpTransport implements Transport {
  readonly name = 'amqp';
  readonly capabilities: TransportCapabilities = Object.freeze({
    delayedRedelivery: true,
    priority: true,
    fanout: true,
    messageTtl: true,
  });
  readonly safeUrl: string;
  private readonly config: AmqpTransportConfig;
  private readonly connection: AmqpConnection;
  private readonly publisher: AmqpPublisher;
  private readonly operations: AmqpOperations;
  private readonly topology = new AmqpTopology();
  private readonly delay: AmqpDelayBuckets;
  private readonly delayDeclared = new Map<number, Promise<void>>();
  private readonly deadDeclared = new Map<string, Promise<void>>();
  private readonly consumers = new Set<AmqpConsumer>();
  private closing: Promise<void> | undefined;

  constructor(url: string, options: TransportOptions) {
    this.config = resolveAmqpConfig(url, options);
    this.safeUrl = this.config.safeUrl;
    this.connection = new AmqpConnection(this.config);
    this.publisher = new AmqpPublisher(this.connection, this.config.publishTimeoutMs);
    this.operations = new AmqpOperations(this.connection, this.config.publishTimeoutMs);
    this.delay = new AmqpDelayBuckets(this.config.delayBucketsMs, this.config.delayPrefix);
    this.connection.addHook((model) => this.restore(model));
  }

  connect(): Promise<void> {
    return this.connection.connect();
  }

  close(): Promise<void> {
    this.closing ??= (async () => {
      for (const consumer of [...this.consumers]) await consumer.close();
      await this.publisher.close(this.config.publishTimeoutMs);
      await this.operations.close();
      await this.connection.close();
    })();
    return this.closing;
  }

  async declareExchange(exchange: ExchangeSpec): Promise<void> {
    this.assertOpen();
    await this.operations.run(`declaring exchange ${JSON.stringify(exchange.name)}`, (channel) =>
      this.topology.declareExchange(channel, exchange),
    );
  }

  async declareQueue(queue: QueueSpec): Promise<void> {
    this.assertOpen();
    await this.operations.run(`declaring queue ${JSON.stringify(queue.name)}`, (channel) =>
      this.topology.declareQueue(channel, queue),
    );
  }

  async deleteQueue(name: string): Promise<void> {
    this.assertOpen();
    this.topology.forgetQueue(name);
    await this.operations.run(`deleting queue ${JSON.stringify(name)}`, (channel) =>
      channel.deleteQueue(name),
    );
  }

  publish(message: RawMessage, route: Route): Promise<void> {
    let options;
    try {
      options = toPublishOptions(message.properties);
    } catch (error) {
      return Promise.reject(
        new AmqpPublishError('AMQP_PUBLISH_INVALID', `cannot publish: ${(error as Error).message}`, {
          cause: error,
        }),
      );
    }
    return this.publisher.publish(route.exchange, route.routingKey, message.body, options);
  }

  async consume(
    queues: readonly string[],
    options: ConsumeOptions,
    onDelivery: DeliveryHandler,
  ): Promise<Consumer> {
    this.assertOpen();
    const model = await this.connection.waitForConnection(this.config.publishTimeoutMs);
    const globalQos = !queues.some((queue) => this.topology.isQuorum(queue));
    const consumer = new AmqpConsumer(
      this.connection,
      queues,
      options,
      onDelivery,
      this.config,
      (c) => this.consumers.delete(c),
      globalQos,
    );
    try {
      await consumer.start(model);
    } catch (error) {
      const reason = error instanceof Error ? error.message : String(error);
      throw new AmqpTransportError(
        'AMQP_CONSUME_FAILED',
        `cannot consume from ${queues.join(', ')}: ${reason}`,
        {
          cause: error,
        },
      );
    }
    this.consumers.add(consumer);
    return consumer;
  }

  async purge(queue: string): Promise<number> {
    this.assertOpen();
    const reply = await this.operations.run(`purging queue ${JSON.stringify(queue)}`, (channel) =>
      channel.purgeQueue(queue),
    );
    return reply.messageCount;
  }

  async queueLength(queue: string): Promise<number> {
    this.assertOpen();
    const reply = await this.operations.run(`checking queue ${JSON.stringify(queue)}`, (channel) =>
      channel.checkQueue(queue),
    );
    return reply.messageCount;
  }

  /** Passive declares, one per queue on the operations channel; a 404 (no such queue) closes only that call. */
  async queueStats(queues: readonly string[]): Promise<Map<string, QueueStats | null>> {
    this.assertOpen();
    const stats = new Map<string, QueueStats | null>();
    for (const queue of queues) {
      try {
        const reply = await this.operations.run(`checking queue ${JSON.stringify(queue)}`, (channel) =>
          channel.checkQueue(queue),
        );
        stats.set(queue, { ready: reply.messageCount, consumers: reply.consumerCount });
      } catch (error) {
        if ((error as { code?: unknown }).code !== 'AMQP_404') throw error;
        stats.set(queue, null);
      }
    }
    return stats;
  }

  /**
   * Parks the delivery in a delay queue (see amqp-delay.ts) and acks it once the parked copy is confirmed.
   * The copy is the same message (body, headers, properties, so its `eta`) minus `expiration`: RabbitMQ
   * drops that on dead-lettering anyway, and the `expires` header still lets the worker revoke it.
   */
  async redeliverAt(delivery: Delivery, dueAtMs: number): Promise<void> {
    if (!(delivery instanceof AmqpDelivery)) {
      throw new TypeError('redeliverAt needs a delivery from this AMQP transport');
    }
    const { expiration: _dropped, ...properties }: MessageProperties = delivery.message.properties;
    const copy: RawMessage = { body: delivery.message.body, properties };
    const remainingMs = dueAtMs - Date.now();
    if (remainingMs <= 0) {
      await this.publish(copy, { exchange: '', routingKey: delivery.queue });
    } else {
      const bucketMs = this.delay.pick(remainingMs);
      await this.declareDelayBucket(bucketMs);
      await this.publish(copy, { exchange: this.delay.exchangeName(bucketMs), routingKey: delivery.queue });
    }
    delivery.ack();
  }

  /** Publishes a marked copy to `<queue>.dead` (see amqp-dead-letter.ts), then acks once it is confirmed. */
  async deadLetter(delivery: Delivery, reason: string): Promise<void> {
    if (!(delivery instanceof AmqpDelivery)) {
      throw new TypeError('deadLetter needs a delivery from this AMQP transport');
    }
    const dead = deadQueueName(delivery.queue);
    let declared = this.deadDeclared.get(dead);
    if (!declared) {
      declared = this.declareQueue(deadQueueSpec(delivery.queue));
      declared.catch(() => this.deadDeclared.delete(dead));
      this.deadDeclared.set(dead, declared);
    }
    await declared;
    await this.publish(deadLetterCopy(delivery.message, delivery.queue, reason), {
      exchange: '',
      routingKey: dead,
    });
    delivery.ack();
  }

  onStatus(listener: (status: TransportStatus) => void): () => void {
    return this.connection.onStatus(listener);
  }

  /** After every (re)connection: declarations first, then the publisher, then consumers. */
  private async restore(model: ChannelModel): Promise<void> {
    await this.topology.redeclareAll(model, this.config.logger);
    await this.publisher.openOn(model);
    for (const consumer of this.consumers) await consumer.resume(model);
  }

  private declareDelayBucket(bucketMs: number): Promise<void> {
    let declared = this.delayDeclared.get(bucketMs);
    if (!declared) {
      declared = this.declareQueue(this.delay.queueSpec(bucketMs));
      declared.catch(() => this.delayDeclared.delete(bucketMs));
      this.delayDeclared.set(bucketMs, declared);
    }
    return declared;
  }

  private assertOpen(): void {
    if (this.closing) throw new AmqpClosedError();
  }
}
