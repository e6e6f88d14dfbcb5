import type { Delivery } from '../transport.ts';
import type { DecodedEnvelope } from './redis-envelope.ts';

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
    private readonly onSettle: (delivery: RedisDelivery, requeue: boolean | null) => void,
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
    this.onSettle(this, null);
  }

  reject(requeue: boolean): void {
    if (this.settled) return;
    this.settled = true;
    this.onSettle(this, requeue);
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
