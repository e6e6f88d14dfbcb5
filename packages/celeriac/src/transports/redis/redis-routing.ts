import type { Redis } from 'ioredis';
import { topicMatches } from '../memory/memory-broker.ts';
import type { ExchangeSpec, QueueSpec } from '../transport.ts';
import { kombuTopicPattern, type RedisKeys } from './redis-keys.ts';

export type ExchangeType = ExchangeSpec['type'];

/**
 * kombu's virtual exchanges on Redis (kombu/transport/virtual/exchange.py): exchange types live in
 * each client's memory (an exchange nobody declared here is `direct`, as `Channel.typeof` assumes);
 * bindings live in the shared `_kombu.binding.<exchange>` SETs, so Python and Celeriac route alike.
 */
export class RedisRouting {
  private readonly exchangeTypes = new Map<string, ExchangeType>();
  /** Exchanges declared topic (or direct) that Redis turns into pub/sub: their binding keys filter. */
  private readonly filteredFanout = new Set<string>();
  /** Local bindings per queue, to remove them on delete (kombu keeps the same in `BrokerState`). */
  private readonly queueBindings = new Map<string, { exchange: string; member: string }[]>();
  private readonly fanoutQueues = new Map<string, string[]>();
  private readonly autoDeleteFanoutQueues = new Set<string>();

  constructor(
    private readonly keys: RedisKeys,
    private readonly forcedFanout: readonly string[],
  ) {}

  declareExchange(spec: ExchangeSpec): void {
    // celery/events/event.py `get_exchange`: the event exchange is fanout on Redis whatever AMQP calls it.
    const forced = this.forcedFanout.includes(spec.name) && spec.type !== 'fanout';
    if (forced) this.filteredFanout.add(spec.name);
    this.exchangeTypes.set(spec.name, forced ? 'fanout' : spec.type);
  }

  typeOf(exchange: string): ExchangeType {
    return this.exchangeTypes.get(exchange) ?? (this.forcedFanout.includes(exchange) ? 'fanout' : 'direct');
  }

  /** Adds the queue's bindings to the shared binding SETs (`Channel._queue_bind`). */
  async declareQueue(client: Redis, spec: QueueSpec): Promise<void> {
    const added: { exchange: string; member: string }[] = this.queueBindings.get(spec.name) ?? [];
    const pipeline = client.pipeline();
    for (const binding of spec.bindings ?? []) {
      this.declareExchange(binding.exchange);
      const exchange = binding.exchange.name;
      const type = this.typeOf(exchange);
      const pattern = type === 'topic' ? kombuTopicPattern(binding.routingKey) : '';
      const member = this.keys.bindingMember(binding.routingKey, pattern, spec.name);
      pipeline.sadd(this.keys.bindingSet(exchange), member);
      if (!added.some((b) => b.exchange === exchange && b.member === member))
        added.push({ exchange, member });
      if (type === 'fanout') {
        const patterns = this.fanoutQueues.get(spec.name) ?? [];
        for (const pattern of this.subscribePatterns(exchange, binding.routingKey)) {
          if (!patterns.includes(pattern)) patterns.push(pattern);
        }
        this.fanoutQueues.set(spec.name, patterns);
        if (spec.autoDelete || spec.exclusive) this.autoDeleteFanoutQueues.add(spec.name);
      }
    }
    this.queueBindings.set(spec.name, added);
    if (pipeline.length > 0) await execOrThrow(pipeline);
  }

  /** SREMs the bindings this client added for the queue (`Channel._delete`). */
  async forgetQueue(client: Redis, queue: string): Promise<void> {
    const bindings = this.queueBindings.get(queue) ?? [];
    this.queueBindings.delete(queue);
    this.fanoutQueues.delete(queue);
    this.autoDeleteFanoutQueues.delete(queue);
    if (bindings.length === 0) return;
    const pipeline = client.pipeline();
    for (const b of bindings) pipeline.srem(this.keys.bindingSet(b.exchange), b.member);
    await execOrThrow(pipeline);
  }

  /**
   * Removes every binding of the queue, whoever declared it, as deleting a queue does on RabbitMQ
   * (kombu only forgets the bindings its own process declared). SCANs the binding SETs: deletes are rare.
   */
  async unbindEverywhere(client: Redis, queue: string): Promise<void> {
    await this.forgetQueue(client, queue);
    let cursor = '0';
    do {
      const [next, sets] = await client.scan(
        cursor,
        'MATCH',
        `${escapeGlob(this.keys.bindingSet(''))}*`,
        'COUNT',
        500,
      );
      cursor = next;
      for (const set of sets) {
        const stale = (await client.smembers(set)).filter(
          (m) => this.keys.parseBindingMember(m)?.queue === queue,
        );
        if (stale.length > 0) await client.srem(set, ...stale);
      }
    } while (cursor !== '0');
  }

  /** Queues bound to a fanout exchange, auto-deleted when the channel closes (kombu `Channel.close`). */
  autoDeleteQueues(): string[] {
    return [...this.autoDeleteFanoutQueues];
  }

  /** PSUBSCRIBE patterns of a queue bound to fanout exchanges, or undefined for a list queue. */
  fanoutPatterns(queue: string): readonly string[] | undefined {
    return this.fanoutQueues.get(queue);
  }

  isAutoDelete(queue: string): boolean {
    return this.autoDeleteFanoutQueues.has(queue);
  }

  /**
   * kombu subscribes `/{db}.{exchange}/{binding key, # -> *}`, so on Redis a fanout binding key filters
   * like a topic. We keep that for exchanges that are topic elsewhere (celeryev, where Celery binds
   * `worker.#`); a real fanout exchange reaches its queues whatever the keys, as on RabbitMQ, by also
   * subscribing the bare channel and every routing key under it.
   */
  private subscribePatterns(exchange: string, bindingKey: string): string[] {
    if (this.filteredFanout.has(exchange)) return [this.keys.fanoutPattern(exchange, bindingKey)];
    const bare = this.keys.fanoutChannel(exchange, '');
    const keyed = this.keys.fanoutChannel(exchange, '*');
    return bare === keyed ? [bare] : [bare, keyed];
  }

  /**
   * The queues a direct or topic publish reaches (`Channel._lookup`). Exchange '' is the queue named
   * by the routing key. Topic keys match by AMQP rules on the binding key.
   */
  async lookup(client: Redis, exchange: string, routingKey: string): Promise<string[]> {
    if (exchange === '') return [routingKey];
    const members = await client.smembers(this.keys.bindingSet(exchange));
    const type = this.typeOf(exchange);
    const queues = new Set<string>();
    for (const member of members) {
      const binding = this.keys.parseBindingMember(member);
      if (!binding) continue;
      const matched =
        type === 'fanout' ||
        (type === 'topic' ? topicMatches(binding.routingKey, routingKey) : binding.routingKey === routingKey);
      if (matched) queues.add(binding.queue);
    }
    return [...queues];
  }
}

function escapeGlob(text: string): string {
  return text.replace(/[*?[\]\\]/g, '\\$&');
}

/** Runs a pipeline and throws the first command error (ioredis reports them per command). */
export async function execOrThrow(pipeline: ReturnType<Redis['pipeline']>): Promise<unknown[]> {
  const results = (await pipeline.exec()) ?? [];
  const values: unknown[] = [];
  for (const [error, value] of results) {
    if (error) throw error;
    values.push(value);
  }
  return values;
}
