import type { Channel, ChannelModel } from 'amqplib';
import type { Logger } from '../../util/logger.ts';
import type { ExchangeSpec, QueueSpec } from '../transport.ts';

/**
 * Declares exchanges and queues exactly as given (Python declares the same entities, and any difference in
 * durability or arguments is a 406 PRECONDITION_FAILED for whoever comes second), and remembers each
 * successful declaration so a reconnection can redo them all.
 */
export class AmqpTopology {
  private readonly exchanges = new Map<string, ExchangeSpec>();
  private readonly queues = new Map<string, QueueSpec>();

  async declareExchange(channel: Channel, spec: ExchangeSpec): Promise<void> {
    if (spec.name === '') return;
    await assertExchange(channel, spec);
    this.exchanges.set(spec.name, spec);
  }

  async declareQueue(channel: Channel, spec: QueueSpec): Promise<void> {
    await assertQueue(channel, spec);
    const known = this.queues.get(spec.name);
    const bindings = [...(known?.bindings ?? [])];
    for (const binding of spec.bindings ?? []) {
      const same = (b: (typeof bindings)[number]) =>
        b.exchange.name === binding.exchange.name && b.routingKey === binding.routingKey;
      if (!bindings.some(same)) bindings.push(binding);
    }
    this.queues.set(spec.name, { ...spec, bindings });
  }

  /** Quorum queues refuse global QoS (RabbitMQ 3.10 closes the connection), so consumers of one use per-consumer QoS. */
  isQuorum(name: string): boolean {
    return this.queues.get(name)?.arguments?.['x-queue-type'] === 'quorum';
  }

  forgetQueue(name: string): void {
    this.queues.delete(name);
  }

  /**
   * Redoes every remembered declaration on a new connection. One that fails (someone redeclared the queue
   * differently meanwhile) is logged and skipped; the channel it killed is replaced.
   */
  async redeclareAll(model: ChannelModel, logger: Logger): Promise<void> {
    if (this.exchanges.size === 0 && this.queues.size === 0) return;
    let channel = await openChannel(model);
    const attempt = async (what: string, run: (ch: Channel) => Promise<void>) => {
      try {
        await run(channel);
      } catch (error) {
        logger.warn(
          { err: (error as Error).message },
          `could not re-declare ${what}: ${(error as Error).message}`,
        );
        channel = await openChannel(model);
      }
    };
    for (const spec of this.exchanges.values())
      await attempt(`exchange ${spec.name}`, (ch) => assertExchange(ch, spec));
    for (const spec of this.queues.values())
      await attempt(`queue ${spec.name}`, (ch) => assertQueue(ch, spec));
    await channel.close().catch(() => undefined);
  }
}

/** A plain channel whose errors are observed (an unobserved 'error' event would crash the process). */
export async function openChannel(model: ChannelModel): Promise<Channel> {
  const channel = await model.createChannel();
  channel.on('error', () => undefined);
  return channel;
}

async function assertExchange(channel: Channel, spec: ExchangeSpec): Promise<void> {
  // RabbitMQ refuses non-passive declarations of its built-in amq.* exchanges (403 ACCESS_REFUSED).
  if (spec.name.startsWith('amq.')) {
    await channel.checkExchange(spec.name);
    return;
  }
  await channel.assertExchange(spec.name, spec.type, {
    durable: spec.durable ?? true,
    autoDelete: spec.autoDelete ?? false,
    arguments: spec.arguments ?? {},
  });
}

async function assertQueue(channel: Channel, spec: QueueSpec): Promise<void> {
  await channel.assertQueue(spec.name, {
    durable: spec.durable ?? true,
    exclusive: spec.exclusive ?? false,
    autoDelete: spec.autoDelete ?? false,
    arguments: spec.arguments ?? {},
  });
  for (const binding of spec.bindings ?? []) {
    if (binding.exchange.name === '') continue; // every queue is bound to the default exchange already
    await assertExchange(channel, binding.exchange);
    await channel.bindQueue(spec.name, binding.exchange.name, binding.routingKey);
  }
}
