import type { ExchangeSpec, QueueSpec } from '../transport.ts';

/**
 * Delayed redelivery through delay queues, the fix for celery#6760: a worker holding an ETA message unacked
 * longer than RabbitMQ's `consumer_timeout` (30 min) gets its channel closed. Instead the message is parked:
 * published to the fanout exchange of a bucket, whose one queue has a fixed `x-message-ttl` (fixed per queue
 * so expiry stays FIFO; per-message TTLs would wait behind the head) and dead-letters to the default exchange
 * with the routing key the message was parked with, which is its origin queue. The bucket is the largest one
 * not longer than the remaining delay, so a message may come back early and be parked again: the worker
 * re-checks its `eta` each time.
 */
export class AmqpDelayBuckets {
  constructor(
    /** Ascending TTLs, ms. */
    private readonly bucketsMs: readonly number[],
    private readonly prefix: string,
  ) {}

  /** The bucket for a remaining delay: the largest not beyond it, else the smallest (late by less than it). */
  pick(remainingMs: number): number {
    let chosen = this.bucketsMs[0]!;
    for (const bucket of this.bucketsMs) if (bucket <= remainingMs) chosen = bucket;
    return chosen;
  }

  exchangeName(bucketMs: number): string {
    return `${this.prefix}.${bucketMs}`;
  }

  /** The bucket's queue, bound to its fanout exchange: both durable, as parked messages must survive a restart. */
  queueSpec(bucketMs: number): QueueSpec {
    const exchange: ExchangeSpec = {
      name: this.exchangeName(bucketMs),
      type: 'fanout',
      durable: true,
      autoDelete: false,
    };
    return {
      name: `${this.prefix}.${bucketMs}`,
      durable: true,
      arguments: { 'x-message-ttl': bucketMs, 'x-dead-letter-exchange': '' },
      bindings: [{ exchange, routingKey: '' }],
    };
  }
}

const DEATH_HEADERS = ['x-death', 'x-first-death-exchange', 'x-first-death-queue', 'x-first-death-reason'];
const LAST_DEATH_HEADERS = ['x-last-death-exchange', 'x-last-death-queue', 'x-last-death-reason'];

/**
 * Removes the headers RabbitMQ adds when dead-lettering, when every death was in our delay queues: the
 * message is meant to come back as it was sent (and amqplib decodes `x-death` timestamps into objects JSON
 * consumers would trip on). Deaths elsewhere (a user's DLX) are the user's business and stay.
 */
export function stripDelayDeathHeaders(headers: Record<string, unknown>, prefix: string): void {
  const deaths = headers['x-death'];
  if (!Array.isArray(deaths)) return;
  const ours = deaths.every((d) => {
    const queue = (d as { queue?: unknown } | null)?.queue;
    return typeof queue === 'string' && queue.startsWith(`${prefix}.`);
  });
  if (!ours) return;
  for (const key of DEATH_HEADERS) delete headers[key];
  for (const key of LAST_DEATH_HEADERS) delete headers[key];
}
