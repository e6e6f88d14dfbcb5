import type { Delivery } from '../transport.ts';
import type { DecodedEnvelope } from './redis-envelope.ts';

/** What a delivery asks of the consumer that holds it. */
export interface DeliveryHolder {
  /** ack (requeue null) or reject. */
  settle(delivery: RedisDelivery, requeue: boolean | null): void;
  /** Moves it from `unacked` to `<queue>.dead` with `reason`; rejects if Redis could not. */
  setAside(delivery: RedisDelivery, reason: string): Promise<void>;
}

/** A delivery from a list queue: unacked in Redis (kombu's ack emulation) until settled. */
export class RedisDelivery implements Delivery {
  readonly message: Delivery['message'];
  readonly exchange: string;
  readonly routingKey: string;
  readonly redelivered: boolean;
  readonly deliveryTag: string;
  private settled = false;

  constructor(
    decoded: DecodedEnvelope,
    /** The envelope as it was in the list, for requeue and restore. */
    readonly raw: string,
    /** The queue it was popped from (the routing key may differ: topic routing), whose dead list it goes to. */
    readonly queue: string,
    private readonly holder: DeliveryHolder,
  ) {
    this.message = decoded.message;
    this.exchange = decoded.exchange;
    this.routingKey = decoded.routingKey;
    this.redelivered = decoded.redelivered;
    this.deliveryTag = decoded.deliveryTag;
  }

  ack(): void {
    if (this.settled) return;
    this.settled = true;
    this.holder.settle(this, null);
  }

  reject(requeue: boolean): void {
    if (this.settled) return;
    this.settled = true;
    this.holder.settle(this, requeue);
  }

  /**
   * Settles it by moving it to `<queue>.dead`. While that runs, ack and reject do nothing; if it fails
   * the delivery is open again, so the caller can still requeue it.
   */
  async deadLetter(reason: string): Promise<void> {
    if (this.settled) throw new Error(`delivery ${this.deliveryTag} is already settled`);
    this.settled = true;
    try {
      await this.holder.setAside(this, reason);
    } catch (error) {
      this.settled = false;
      throw error;
    }
  }

  markSettled(): void {
    this.settled = true;
  }
}

/** A delivery with nothing to settle: no-ack consumers and pub/sub fanout. */
export function settledDelivery(decoded: DecodedEnvelope): Delivery {
  return {
    message: decoded.message,
    exchange: decoded.exchange,
    routingKey: decoded.routingKey,
    redelivered: decoded.redelivered,
    ack: () => undefined,
    reject: () => undefined,
  };
}

/** The delivery tag of an envelope text, if it has one. */
export function tagOf(raw: string): string | undefined {
  try {
    const tag = (JSON.parse(raw) as { properties?: { delivery_tag?: unknown } }).properties?.delivery_tag;
    return typeof tag === 'string' ? tag : undefined;
  } catch {
    return undefined;
  }
}
