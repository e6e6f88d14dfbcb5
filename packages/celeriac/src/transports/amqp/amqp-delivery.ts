import type { Channel, ChannelModel, ConsumeMessage, Message } from 'amqplib';
import type { RawMessage } from '../../protocol/types.ts';
import type { Delivery } from '../transport.ts';
import { AckBatcher } from './amqp-acks.ts';

/**
 * One consumer channel's life. When the channel dies, the broker requeues every delivery it had handed
 * out, so settling those deliveries afterwards must do nothing (their tags mean nothing on a new channel).
 */
export class ConsumerSession {
  alive = true;
  /** Deliveries handed out and not settled yet. */
  outstanding = 0;
  /** consumerTag → queue. */
  readonly tags = new Map<string, string>();
  readonly acks: AckBatcher;
  /** The broker's reason when it closed the channel (e.g. the consumer_timeout 406). */
  error: Error | undefined;

  constructor(
    readonly channel: Channel,
    readonly model: ChannelModel,
    batchSize: number,
    private readonly onIdle: () => void,
  ) {
    this.acks = new AckBatcher(
      {
        ack: (deliveryTag, multiple) => channel.ack(tagged(deliveryTag), multiple),
        reject: (deliveryTag, requeue) => channel.reject(tagged(deliveryTag), requeue),
      },
      batchSize,
    );
  }

  settle(deliveryTag: number, requeue: boolean | null): void {
    if (!this.alive) return;
    this.outstanding--;
    if (requeue === null) this.acks.ack(deliveryTag);
    else this.acks.reject(deliveryTag, requeue);
    if (this.outstanding === 0) this.onIdle();
  }

  end(): void {
    this.alive = false;
    this.acks.discard();
  }
}

/** A delivery from RabbitMQ; `queue` is where it came from, so `redeliverAt` can send it back there. */
export class AmqpDelivery implements Delivery {
  readonly exchange: string;
  readonly routingKey: string;
  readonly redelivered: boolean;
  private readonly deliveryTag: number;
  private settled = false;

  constructor(
    readonly message: RawMessage,
    readonly queue: string,
    fields: ConsumeMessage['fields'],
    private readonly session: ConsumerSession | undefined,
  ) {
    this.exchange = fields.exchange;
    this.routingKey = fields.routingKey;
    this.redelivered = fields.redelivered;
    this.deliveryTag = fields.deliveryTag;
  }

  ack(): void {
    if (this.settled) return;
    this.settled = true;
    this.session?.settle(this.deliveryTag, null);
  }

  reject(requeue: boolean): void {
    if (this.settled) return;
    this.settled = true;
    this.session?.settle(this.deliveryTag, requeue);
  }
}

function tagged(deliveryTag: number): Message {
  return { fields: { deliveryTag } } as unknown as Message;
}
