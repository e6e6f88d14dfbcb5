import type { Transport } from 'celeriac';
import type { QueueProbe, QueueProbeOptions, QueueReading } from './queue-probe.ts';
import { readingsFromStats } from './broker-queue-probe.ts';
import { RabbitManagementApi } from './rabbitmq-management.ts';

/**
 * RabbitMQ. Without the management plugin: passive declares (`queue.declare passive`) give ready
 * messages and consumers, and a 404 says the queue does not exist. With `brokerApi`: the management
 * API adds unacked counts and the broker's own publish and deliver rates; if it stops answering the
 * passive declares carry on alone.
 */
export class AmqpQueueProbe implements QueueProbe {
  readonly broker = 'amqp';
  private readonly api: RabbitManagementApi | undefined;

  constructor(
    private readonly transport: Transport,
    options: QueueProbeOptions,
  ) {
    this.api = options.brokerApi ? new RabbitManagementApi(options.brokerApi, options.brokerUrl) : undefined;
  }

  get describes(): string {
    return this.api?.healthy
      ? 'RabbitMQ management API: ready, unacked, consumers and the broker’s publish/deliver rates'
      : 'RabbitMQ passive declares: ready messages and consumers (unacked needs the management API, --broker-api)';
  }

  async probe(queues: readonly string[]): Promise<Map<string, QueueReading>> {
    const fromApi = this.api ? await this.api.queues(queues) : undefined;
    if (fromApi) return fromApi;
    const fromStats = await readingsFromStats(this.transport, queues);
    if (!fromStats) throw new Error('this AMQP transport cannot report queue counts');
    return fromStats;
  }
}
