import type { RawMessage } from '../protocol/types.ts';

/**
 * The broker contract, modelled on AMQP 0-9-1 as kombu is: exchanges route to queues, consumers
 * ack or reject. RabbitMQ speaks it natively; Redis and memory emulate it (kombu's virtual transport).
 * Every implementation passes `test/transport-conformance.ts`.
 */
export interface Transport {
  /** `amqp`, `redis` or `memory`: what `stats.broker.transport` reports. */
  readonly name: string;
  readonly capabilities: TransportCapabilities;
  /** The broker URL without its password, for banners and logs. */
  readonly safeUrl: string;

  /** Connects (retrying with back-off) and resolves once usable. Idempotent. */
  connect(): Promise<void>;
  /** Stops consumers, flushes pending acks and confirms, closes. Idempotent. */
  close(): Promise<void>;

  declareExchange(exchange: ExchangeSpec): Promise<void>;
  /** Declares the queue and its bindings; arguments must match what Python declares (§2.1). */
  declareQueue(queue: QueueSpec): Promise<void>;
  deleteQueue(name: string): Promise<void>;

  /** Resolves when the broker has confirmed the message (publisher confirms); rejects otherwise. */
  publish(message: RawMessage, route: Route): Promise<void>;

  /** Starts consuming from the queues; prefetch bounds unacked deliveries across all of them. */
  consume(queues: readonly string[], options: ConsumeOptions, onDelivery: DeliveryHandler): Promise<Consumer>;

  /** Removes every ready message from the queue; returns how many. */
  purge(queue: string): Promise<number>;
  /** Number of ready messages (not counting unacked deliveries). */
  queueLength(queue: string): Promise<number>;

  /**
   * Parks a delivery until `dueAtMs` without holding it unacked: the broker gives it back
   * (same body and headers) at or after that time, then this delivery is acked.
   * Present when `capabilities.delayedRedelivery` is true.
   */
  redeliverAt?(delivery: Delivery, dueAtMs: number): Promise<void>;

  /**
   * Sets a bad delivery aside in `<queue>.dead` with `reason` in a header, then acks it; rejects (leaving
   * the delivery unsettled) if the copy could not be stored. Absent: the caller rejects without requeue.
   */
  deadLetter?(delivery: Delivery, reason: string): Promise<void>;

  /**
   * Counts per queue for monitors (one round trip or a few for all of them): ready messages, and where
   * the broker knows them, unacked deliveries and consumers. null for a queue the broker says does not exist.
   */
  queueStats?(queues: readonly string[]): Promise<Map<string, QueueStats | null>>;

  /** Connection state changes, for logs and the monitor. */
  onStatus(listener: (status: TransportStatus) => void): () => void;
}

/** What `queueStats` knows of one queue; a field the broker cannot tell is absent. */
export interface QueueStats {
  ready: number;
  unacked?: number;
  consumers?: number;
}

export interface TransportCapabilities {
  /** `redeliverAt` parks far ETAs in the broker (AMQP delay queues, memory timers). */
  readonly delayedRedelivery: boolean;
  /** Message priorities are honoured. */
  readonly priority: boolean;
  /** Fanout/topic exchanges reach every bound queue (events, remote control). */
  readonly fanout: boolean;
  /** Per-message TTL (`expiration`) is enforced by the broker. */
  readonly messageTtl: boolean;
}

export type TransportStatus =
  | { state: 'connected' }
  | { state: 'disconnected'; error: Error }
  | { state: 'reconnecting'; attempt: number; delayMs: number }
  | { state: 'closed' };

export interface ExchangeSpec {
  name: string;
  type: 'direct' | 'topic' | 'fanout';
  durable?: boolean;
  autoDelete?: boolean;
  arguments?: Record<string, unknown>;
}

export interface QueueSpec {
  name: string;
  /** Default true. */
  durable?: boolean;
  exclusive?: boolean;
  autoDelete?: boolean;
  /** `x-max-priority`, `x-expires`, `x-message-ttl`, `x-queue-type`, ... as RabbitMQ names them. */
  arguments?: Record<string, unknown>;
  bindings?: readonly Binding[];
}

export interface Binding {
  exchange: ExchangeSpec;
  routingKey: string;
}

/** Where a message goes: exchange `''` with routing key = queue name is a direct send to a queue. */
export interface Route {
  exchange: string;
  routingKey: string;
}

export interface ConsumeOptions {
  /** Unacked deliveries the broker may push ahead (0 = unlimited). */
  prefetch: number;
  /** Deliveries are settled by the broker on send (events, pidbox, rpc replies). */
  noAck?: boolean;
}

export type DeliveryHandler = (delivery: Delivery) => void;

export interface Delivery {
  readonly message: RawMessage;
  readonly exchange: string;
  readonly routingKey: string;
  readonly redelivered: boolean;
  /** Settles the delivery as done. Safe to call once; later calls are ignored. */
  ack(): void;
  /** Gives the delivery back (requeue) or drops it (dead-letters where the queue has a DLX). */
  reject(requeue: boolean): void;
}

export interface Consumer {
  /** Stops new deliveries; deliveries already handed out can still be settled. */
  cancel(): Promise<void>;
  /**
   * Changes the prefetch window while consuming (Celery's `qos.increment_eventually`), e.g. so ETA
   * messages held in memory do not starve the pool. 0 = unlimited.
   */
  setPrefetch(count: number): Promise<void>;
}
