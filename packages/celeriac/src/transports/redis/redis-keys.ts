import type { RedisTransportConfig } from './redis-transport-config.ts';

/**
 * Every Redis key and pub/sub channel the transport touches, named as kombu names them
 * (kombu/transport/redis.py `Channel`), with `global_keyprefix` in front of each.
 */
export class RedisKeys {
  readonly unacked: string;
  readonly unackedIndex: string;
  readonly unackedMutex: string;
  private readonly prefix: string;

  constructor(private readonly config: RedisTransportConfig) {
    this.prefix = config.globalKeyprefix;
    this.unacked = `${this.prefix}unacked`;
    this.unackedIndex = `${this.prefix}unacked_index`;
    this.unackedMutex = `${this.prefix}unacked_mutex`;
  }

  /** The priority step a message priority lands in: the largest step <= p, p clamped to 0..9 (`Channel.priority`). */
  priorityStep(priority: unknown): number {
    const n =
      typeof priority === 'number' && Number.isFinite(priority)
        ? Math.min(9, Math.max(0, Math.trunc(priority)))
        : 0;
    const steps = this.config.prioritySteps;
    let step = steps[0] ?? 0;
    for (const s of steps) if (s <= n) step = s;
    return step;
  }

  /** The list of one priority step of a queue: `<queue>` for step 0, `<queue>\x06\x16<step>` otherwise (`_q_for_pri`). */
  queueList(queue: string, step = 0): string {
    return step ? `${this.prefix}${queue}${this.config.sep}${step}` : `${this.prefix}${queue}`;
  }

  /** Every list of a queue, highest priority (lowest step) first: the order BRPOP serves them. */
  queueLists(queue: string): string[] {
    return this.config.prioritySteps.map((step) => this.queueList(queue, step));
  }

  /** Where envelopes that cannot be parsed go, instead of being dropped. Celeriac's own key. */
  deadList(queue: string): string {
    return `${this.prefix}${queue}.dead`;
  }

  /** The SET holding an exchange's bindings (`keyprefix_queue = '_kombu.binding.%s'`). */
  bindingSet(exchange: string): string {
    return `${this.prefix}_kombu.binding.${exchange}`;
  }

  /** A binding member: `<routing_key>\x06\x16<pattern>\x06\x16<queue>`. */
  bindingMember(routingKey: string, pattern: string, queue: string): string {
    return [routingKey, pattern, queue].join(this.config.sep);
  }

  parseBindingMember(member: string): { routingKey: string; pattern: string; queue: string } | undefined {
    const parts = member.split(this.config.sep);
    if (parts.length !== 3) return undefined;
    return { routingKey: parts[0]!, pattern: parts[1]!, queue: parts[2]! };
  }

  /** The channel a fanout publish goes to (`_get_publish_topic`); also the PSUBSCRIBE pattern of a binding. */
  fanoutChannel(exchange: string, routingKey: string): string {
    const base = `${this.prefix}${this.config.fanoutPrefix}${exchange}`;
    return routingKey && this.config.fanoutPatterns ? `${base}/${routingKey}` : base;
  }

  /** PSUBSCRIBE pattern for a queue bound to a fanout exchange: `#` becomes the glob `*` (`_queue_bind`). */
  fanoutPattern(exchange: string, bindingKey: string): string {
    return this.fanoutChannel(exchange, bindingKey.replace(/#/g, '*'));
  }
}

/**
 * kombu's regex for a topic binding (kombu/transport/virtual/exchange.py `TopicExchange.key_to_pattern`).
 * Stored in the binding member so the SET holds the same member Python would add (SADD stays idempotent);
 * Celeriac itself routes topics with AMQP matching on the routing key, not this regex.
 */
export function kombuTopicPattern(bindingKey: string): string {
  const escaped = [...bindingKey]
    .map((c) => (/^[\p{L}\p{N}]$/u.test(c) || '.#*'.includes(c) ? c : `\\${c}`))
    .join('');
  return `^${escaped
    .split('.')
    .map((word) => (word === '*' ? '.*?[^\\.]' : word === '#' ? '.*?' : word))
    .join('\\.')}$`;
}
