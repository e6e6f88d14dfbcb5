import type { Transport } from 'celeriac';
import { AmqpQueueProbe } from './amqp-queue-probe.ts';
import { BrokerQueueProbe } from './broker-queue-probe.ts';

/** One queue as the broker describes it right now; null where the broker cannot tell. */
export interface QueueReading {
  /** False when the broker says there is no such queue (RabbitMQ's 404). */
  exists: boolean;
  ready: number | null;
  unacked: number | null;
  consumers: number | null;
  /** Messages per second from the broker's own counters (RabbitMQ management API), if reachable. */
  publishRate?: number | null;
  deliverRate?: number | null;
}

/** Reads queue counts from one kind of broker. */
export interface QueueProbe {
  /** `amqp`, `redis`, `memory`: what `transport.name` says. */
  readonly broker: string;
  /** What this probe can tell, for the page's footnote. */
  readonly describes: string;
  probe(queues: readonly string[]): Promise<Map<string, QueueReading>>;
}

export interface QueueProbeOptions {
  /** RabbitMQ management API, e.g. `http://guest:guest@localhost:15672/api/` (Flower's `--broker-api`). */
  brokerApi?: string;
  /** The broker URL, for the management API's vhost. */
  brokerUrl: string;
}

/** The probe for the app's transport: RabbitMQ with its management API when given, else the transport's counts. */
export function queueProbeFor(transport: Transport, options: QueueProbeOptions): QueueProbe {
  if (transport.name === 'amqp') return new AmqpQueueProbe(transport, options);
  return new BrokerQueueProbe(transport);
}
