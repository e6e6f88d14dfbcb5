import type { RawMessage } from '../../protocol/types.ts';
import type { ExchangeSpec, QueueSpec } from '../transport.ts';

/** A message waiting in a memory queue. */
export interface StoredMessage {
  message: RawMessage;
  exchange: string;
  routingKey: string;
  redelivered: boolean;
}

/** A subscriber that takes messages from queues (one per `consume` call). */
export interface MemorySubscriber {
  /** Called while the subscriber has room; returns false when it is full. */
  offer(queue: string, stored: StoredMessage): boolean;
  hasRoom(): boolean;
}

interface MemoryQueue {
  spec: QueueSpec;
  messages: StoredMessage[];
  /** Index of the first live message (shift() is O(n); we compact lazily). */
  head: number;
  subscribers: MemorySubscriber[];
  nextSubscriber: number;
}

/**
 * One in-process broker shared by every memory transport with the same name, so a producer and
 * a worker in one process meet (memory://name). Exchanges route like AMQP: '' to the queue named by
 * the routing key, direct by exact key, topic by pattern, fanout to every bound queue.
 */
export class MemoryBroker {
  private static readonly brokers = new Map<string, MemoryBroker>();

  static named(name: string): MemoryBroker {
    let broker = MemoryBroker.brokers.get(name);
    if (!broker) {
      broker = new MemoryBroker();
      MemoryBroker.brokers.set(name, broker);
    }
    return broker;
  }

  private readonly exchanges = new Map<
    string,
    { spec: ExchangeSpec; bindings: { queue: string; key: string }[] }
  >();
  private readonly queues = new Map<string, MemoryQueue>();

  declareExchange(spec: ExchangeSpec): void {
    if (!this.exchanges.has(spec.name)) this.exchanges.set(spec.name, { spec, bindings: [] });
  }

  declareQueue(spec: QueueSpec): void {
    if (!this.queues.has(spec.name)) {
      this.queues.set(spec.name, { spec, messages: [], head: 0, subscribers: [], nextSubscriber: 0 });
    }
    for (const binding of spec.bindings ?? []) {
      this.declareExchange(binding.exchange);
      const exchange = this.exchanges.get(binding.exchange.name)!;
      if (!exchange.bindings.some((b) => b.queue === spec.name && b.key === binding.routingKey)) {
        exchange.bindings.push({ queue: spec.name, key: binding.routingKey });
      }
    }
  }

  deleteQueue(name: string): void {
    this.queues.delete(name);
    for (const exchange of this.exchanges.values()) {
      exchange.bindings = exchange.bindings.filter((b) => b.queue !== name);
    }
  }

  hasQueue(name: string): boolean {
    return this.queues.has(name);
  }

  /** Routes a message; returns the number of queues it reached. */
  publish(message: RawMessage, exchangeName: string, routingKey: string): number {
    const targets = this.route(exchangeName, routingKey);
    for (const queueName of targets) {
      this.enqueue(queueName, { message, exchange: exchangeName, routingKey, redelivered: false });
    }
    return targets.length;
  }

  /** Puts a message back at the front of its queue (a reject with requeue, or a lost consumer). */
  requeue(queueName: string, stored: StoredMessage): void {
    const queue = this.queues.get(queueName);
    if (!queue) return;
    const again = { ...stored, redelivered: true };
    if (queue.head > 0) queue.messages[--queue.head] = again;
    else queue.messages.unshift(again);
    this.drain(queue);
  }

  enqueue(queueName: string, stored: StoredMessage): void {
    const queue = this.queues.get(queueName);
    if (!queue) return;
    queue.messages.push(stored);
    this.drain(queue);
  }

  subscribe(queueName: string, subscriber: MemorySubscriber): void {
    const queue = this.queues.get(queueName);
    if (!queue) throw new Error(`memory transport: no queue named ${JSON.stringify(queueName)}`);
    queue.subscribers.push(subscriber);
    this.drain(queue);
  }

  unsubscribe(queueName: string, subscriber: MemorySubscriber): void {
    const queue = this.queues.get(queueName);
    if (queue) queue.subscribers = queue.subscribers.filter((s) => s !== subscriber);
  }

  /** Offers waiting messages again, after a subscriber made room by settling a delivery. */
  drainAll(queueNames: readonly string[]): void {
    for (const name of queueNames) {
      const queue = this.queues.get(name);
      if (queue) this.drain(queue);
    }
  }

  purge(queueName: string): number {
    const queue = this.queues.get(queueName);
    if (!queue) return 0;
    const count = queue.messages.length - queue.head;
    queue.messages = [];
    queue.head = 0;
    return count;
  }

  length(queueName: string): number {
    const queue = this.queues.get(queueName);
    return queue ? queue.messages.length - queue.head : 0;
  }

  private route(exchangeName: string, routingKey: string): string[] {
    if (exchangeName === '') return this.queues.has(routingKey) ? [routingKey] : [];
    const exchange = this.exchanges.get(exchangeName);
    if (!exchange) return [];
    const { type } = exchange.spec;
    const matched = exchange.bindings.filter((b) =>
      type === 'fanout' ? true : type === 'topic' ? topicMatches(b.key, routingKey) : b.key === routingKey,
    );
    return [...new Set(matched.map((b) => b.queue))];
  }

  private drain(queue: MemoryQueue): void {
    const subscribers = queue.subscribers;
    while (queue.head < queue.messages.length && subscribers.length > 0) {
      let delivered = false;
      for (let i = 0; i < subscribers.length; i++) {
        const index = (queue.nextSubscriber + i) % subscribers.length;
        const subscriber = subscribers[index]!;
        if (!subscriber.hasRoom()) continue;
        const stored = queue.messages[queue.head]!;
        queue.messages[queue.head++] = undefined as unknown as StoredMessage;
        queue.nextSubscriber = (index + 1) % subscribers.length;
        subscriber.offer(queue.spec.name, stored);
        delivered = true;
        break;
      }
      if (!delivered) break;
    }
    if (queue.head > 1024 && queue.head * 2 > queue.messages.length) {
      queue.messages = queue.messages.slice(queue.head);
      queue.head = 0;
    }
  }
}

/** AMQP topic matching: words split by '.', '*' matches one word, '#' zero or more. */
export function topicMatches(pattern: string, key: string): boolean {
  const p = pattern.split('.');
  const k = key.split('.');
  const match = (i: number, j: number): boolean => {
    if (i === p.length) return j === k.length;
    if (p[i] === '#') {
      for (let skip = j; skip <= k.length; skip++) if (match(i + 1, skip)) return true;
      return false;
    }
    if (j === k.length) return false;
    return (p[i] === '*' || p[i] === k[j]) && match(i + 1, j + 1);
  };
  return match(0, 0);
}
