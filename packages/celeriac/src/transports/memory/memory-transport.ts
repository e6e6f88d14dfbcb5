import type { RawMessage } from '../../protocol/types.ts';
import { deadLetterMarks, deadQueueName } from '../dead-letter-marks.ts';
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
import { MemoryBroker, type MemorySubscriber, type StoredMessage } from './memory-broker.ts';

/**
 * `memory://[name]`: an in-process broker for tests, development and the embedded example.
 * Messages live only as long as the process. Supports fanout and delayed redelivery; no priorities.
 */
export class MemoryTransport implements Transport {
  readonly name = 'memory';
  readonly capabilities: TransportCapabilities = Object.freeze({
    delayedRedelivery: true,
    priority: false,
    fanout: true,
    messageTtl: false,
  });
  readonly safeUrl: string;
  private readonly broker: MemoryBroker;
  private readonly consumers = new Set<MemoryConsumer>();
  private readonly timers = new Map<NodeJS.Timeout, () => void>();
  private readonly listeners = new Set<(status: TransportStatus) => void>();
  private closed = false;

  constructor(url = 'memory://') {
    const name = url.replace(/^memory:\/\//, '').replace(/\/+$/, '') || 'default';
    this.safeUrl = `memory://${name === 'default' ? '' : name}`;
    this.broker = MemoryBroker.named(name);
  }

  async connect(): Promise<void> {
    this.closed = false;
    this.emit({ state: 'connected' });
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    for (const consumer of [...this.consumers]) {
      await consumer.cancel();
      consumer.requeueOutstanding();
    }
    // Parked messages were acked already: hand them back now (early; the worker re-checks eta) rather than lose them.
    for (const [timer, giveBack] of this.timers) {
      clearTimeout(timer);
      giveBack();
    }
    this.timers.clear();
    this.emit({ state: 'closed' });
  }

  async declareExchange(exchange: ExchangeSpec): Promise<void> {
    this.broker.declareExchange(exchange);
  }

  async declareQueue(queue: QueueSpec): Promise<void> {
    this.broker.declareQueue(queue);
  }

  async deleteQueue(name: string): Promise<void> {
    this.broker.deleteQueue(name);
  }

  async publish(message: RawMessage, route: Route): Promise<void> {
    if (this.closed) throw new Error('memory transport is closed');
    this.broker.publish(message, route.exchange, route.routingKey);
  }

  async consume(
    queues: readonly string[],
    options: ConsumeOptions,
    onDelivery: DeliveryHandler,
  ): Promise<Consumer> {
    const consumer = new MemoryConsumer(this.broker, queues, options, onDelivery, () =>
      this.consumers.delete(consumer),
    );
    this.consumers.add(consumer);
    consumer.start();
    return consumer;
  }

  async purge(queue: string): Promise<number> {
    return this.broker.purge(queue);
  }

  async queueLength(queue: string): Promise<number> {
    return this.broker.length(queue);
  }

  async queueStats(queues: readonly string[]): Promise<Map<string, QueueStats | null>> {
    return new Map(queues.map((queue) => [queue, { ready: this.broker.length(queue) }]));
  }

  async redeliverAt(delivery: Delivery, dueAtMs: number): Promise<void> {
    if (!(delivery instanceof MemoryDelivery))
      throw new TypeError('redeliverAt needs a delivery from a memory transport');
    const { message, exchange, routingKey, queue } = delivery;
    // Back to the queue it came from, not through its exchange (which may route to other queues too).
    const giveBack = () => this.broker.enqueue(queue, { message, exchange, routingKey, redelivered: false });
    const timer = setTimeout(
      () => {
        this.timers.delete(timer);
        giveBack();
      },
      Math.max(0, dueAtMs - Date.now()),
    );
    this.timers.set(timer, giveBack);
    delivery.ack();
  }

  /**
   * Puts a copy in `<queue>.dead` (declared on first use) with the `x-celeriac-dead-*` headers and no
   * TTL, as the AMQP transport does, then acks the delivery; both happen in one synchronous step.
   */
  async deadLetter(delivery: Delivery, reason: string): Promise<void> {
    if (!(delivery instanceof MemoryDelivery))
      throw new TypeError('deadLetter needs a delivery from a memory transport consumer with acks');
    if (delivery.isSettled) throw new Error('deadLetter: the delivery is already settled');
    if (this.closed) throw new Error('memory transport is closed');
    const dead = deadQueueName(delivery.queue);
    if (!this.broker.hasQueue(dead))
      this.broker.declareQueue({ name: dead, durable: true, autoDelete: false, exclusive: false });
    const { expiration: _ttl, ...properties } = delivery.message.properties;
    const headers = { ...properties.headers, ...deadLetterMarks(delivery.queue, reason) };
    const message: RawMessage = { body: delivery.message.body, properties: { ...properties, headers } };
    this.broker.enqueue(dead, { message, exchange: '', routingKey: dead, redelivered: false });
    delivery.ack();
  }

  onStatus(listener: (status: TransportStatus) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  private emit(status: TransportStatus): void {
    for (const listener of this.listeners) listener(status);
  }
}

class MemoryConsumer implements Consumer, MemorySubscriber {
  private unacked = 0;
  private readonly outstanding = new Set<MemoryDelivery>();
  private cancelled = false;

  constructor(
    private readonly broker: MemoryBroker,
    private readonly queues: readonly string[],
    private options: ConsumeOptions,
    private readonly onDelivery: DeliveryHandler,
    private readonly onCancelled: () => void,
  ) {}

  start(): void {
    for (const queue of this.queues) this.broker.subscribe(queue, this);
  }

  hasRoom(): boolean {
    return (
      !this.cancelled &&
      (this.options.noAck || this.options.prefetch <= 0 || this.unacked < this.options.prefetch)
    );
  }

  offer(queue: string, stored: StoredMessage): boolean {
    if (this.options.noAck) {
      queueMicrotask(() => this.onDelivery(settledDelivery(stored)));
      return true;
    }
    this.unacked++;
    const delivery = new MemoryDelivery(stored, queue, (requeue) =>
      this.settle(delivery, queue, stored, requeue),
    );
    this.outstanding.add(delivery);
    // Deliver asynchronously, as a network broker would, so handlers never re-enter publish().
    queueMicrotask(() => this.onDelivery(delivery));
    return true;
  }

  async setPrefetch(count: number): Promise<void> {
    this.options = { ...this.options, prefetch: count };
    this.broker.drainAll(this.queues);
  }

  async cancel(): Promise<void> {
    if (this.cancelled) return;
    this.cancelled = true;
    for (const queue of this.queues) this.broker.unsubscribe(queue, this);
    // Until its deliveries are settled the transport keeps it, so close() can still give them back.
    if (this.outstanding.size === 0) this.onCancelled();
  }

  /** Unsettled deliveries go back to their queues, as when an AMQP channel closes. */
  requeueOutstanding(): void {
    for (const delivery of [...this.outstanding.keys()]) delivery.reject(true);
  }

  private settle(
    delivery: MemoryDelivery,
    queue: string,
    stored: StoredMessage,
    requeue: boolean | null,
  ): void {
    this.outstanding.delete(delivery);
    this.unacked--;
    if (requeue) this.broker.requeue(queue, stored);
    this.broker.drainAll(this.queues);
    if (this.cancelled && this.outstanding.size === 0) this.onCancelled();
  }
}

class MemoryDelivery implements Delivery {
  readonly message: RawMessage;
  readonly exchange: string;
  readonly routingKey: string;
  readonly redelivered: boolean;
  private settled = false;

  constructor(
    stored: StoredMessage,
    /** The queue it was taken from, where `redeliverAt` puts it back. */
    readonly queue: string,
    private readonly onSettle: (requeue: boolean | null) => void,
  ) {
    this.message = stored.message;
    this.exchange = stored.exchange;
    this.routingKey = stored.routingKey;
    this.redelivered = stored.redelivered;
  }

  get isSettled(): boolean {
    return this.settled;
  }

  ack(): void {
    if (this.settled) return;
    this.settled = true;
    this.onSettle(null);
  }

  reject(requeue: boolean): void {
    if (this.settled) return;
    this.settled = true;
    this.onSettle(requeue);
  }
}

function settledDelivery(stored: StoredMessage): Delivery {
  return {
    message: stored.message,
    exchange: stored.exchange,
    routingKey: stored.routingKey,
    redelivered: stored.redelivered,
    ack: () => undefined,
    reject: () => undefined,
  };
}
