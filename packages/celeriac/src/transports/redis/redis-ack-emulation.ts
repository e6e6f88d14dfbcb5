import { randomUUID } from 'node:crypto';
import type { Redis } from 'ioredis';
import type { Logger } from '../../util/logger.ts';
import { encodeEnvelope, markRedelivered, type RedisEnvelope } from './redis-envelope.ts';
import type { RedisKeys } from './redis-keys.ts';
import { execOrThrow, type RedisRouting } from './redis-routing.ts';
import { DEAD_LETTER, RELEASE, RESTORE } from './redis-scripts.ts';
import type { RedisTransportConfig } from './redis-transport-config.ts';

/** How many stale entries restore_visible reads per round trip. */
const RESTORE_PAGE = 100;

/**
 * kombu's ack emulation on Redis (kombu/transport/redis.py `QoS`): a delivery stays in the `unacked`
 * hash, indexed by delivery time in `unacked_index`, until it is acked; whoever runs restore_visible
 * gives entries older than the visibility timeout back to their queues.
 *
 * Celeriac adds one thing kombu lacks (kombu#337, celery#2599): the holder of a delivery refreshes its
 * `unacked_index` score while it holds it, so a live worker's message (an ETA far away, a long task)
 * is never restored behind its back; once the holder dies the refreshes stop and it is restored.
 */
export class AckEmulation {
  constructor(
    private readonly client: Redis,
    private readonly keys: RedisKeys,
    private readonly routing: RedisRouting,
    private readonly config: RedisTransportConfig,
    private readonly logger: Logger,
  ) {}

  /** ack = ZREM unacked_index + HDEL unacked (`QoS.ack`), for many tags in one transaction. */
  async ack(tags: readonly string[]): Promise<void> {
    if (tags.length === 0) return;
    await execOrThrow(
      this.client
        .multi()
        .zrem(this.keys.unackedIndex, ...tags)
        .hdel(this.keys.unacked, ...tags),
    );
  }

  /**
   * Gives one of our deliveries back: `leftmost` LPUSHes it to the back of the queue (reject with
   * requeue, kombu `restore_by_tag(leftmost=True)`); otherwise RPUSH so it is delivered next
   * (shutdown, `restore_unacked`). Does nothing if restore_visible already gave it back.
   */
  async restoreOwn(tag: string, rawEnvelope: string, leftmost: boolean): Promise<boolean> {
    const envelope = JSON.parse(rawEnvelope) as RedisEnvelope;
    return this.restore(tag, '', '+inf', envelope, leftmost);
  }

  /** Pushes the scores of held deliveries to now, so restore_visible sees them as fresh. */
  async refresh(tags: Iterable<string>): Promise<void> {
    const now = epochSeconds();
    const args: (string | number)[] = [];
    for (const tag of tags) args.push(now, tag);
    if (args.length === 0) return;
    // XX: never re-create an entry someone else acked or restored in the meantime.
    await this.client.zadd(this.keys.unackedIndex, 'XX', ...args);
  }

  /**
   * `QoS.restore_visible`: under the `unacked_mutex` lock, every entry whose score is older than the
   * visibility timeout goes back to its queues (RPUSH, so it is delivered next) marked redelivered.
   * Returns how many were restored; 0 when another consumer holds the lock.
   */
  async restoreVisible(): Promise<number> {
    const token = randomUUID();
    const locked = await this.client.set(
      this.keys.unackedMutex,
      token,
      'PX',
      this.config.unackedMutexExpireMs,
      'NX',
    );
    if (locked !== 'OK') return 0;
    let restored = 0;
    try {
      const ceiling = epochSeconds() - this.config.visibilityTimeoutMs / 1000;
      let offset = 0;
      while (true) {
        const tags = await this.client.zrevrangebyscore(
          this.keys.unackedIndex,
          ceiling,
          0,
          'LIMIT',
          offset,
          RESTORE_PAGE,
        );
        if (tags.length === 0) break;
        const entries = await this.client.hmget(this.keys.unacked, ...tags);
        let skipped = 0;
        for (let i = 0; i < tags.length; i++) {
          const ok = await this.restoreEntry(tags[i]!, entries[i] ?? null, ceiling);
          if (ok) restored++;
          else skipped++;
        }
        // Restored entries leave the index; the ones we skipped stay, so page past them.
        offset += skipped;
        if (tags.length < RESTORE_PAGE) break;
      }
    } finally {
      await RELEASE.run(this.client, [this.keys.unackedMutex], [token]).catch(() => undefined);
    }
    if (restored > 0)
      this.logger.info(
        { restored },
        'redis transport: restored unacked messages past the visibility timeout',
      );
    return restored;
  }

  private async restoreEntry(tag: string, entry: string | null, ceiling: number): Promise<boolean> {
    if (entry === null) {
      // Index without hash entry: garbage from an interrupted client; RESTORE removes it.
      await RESTORE.run(
        this.client,
        [this.keys.unacked, this.keys.unackedIndex],
        [tag, '', String(ceiling), '', 'R'],
      );
      return false;
    }
    let parsed: unknown;
    try {
      parsed = JSON.parse(entry);
    } catch (error) {
      this.logger.error({ err: error, tag }, 'redis transport: unacked entry is not JSON; left in place');
      return false;
    }
    if (!Array.isArray(parsed) || typeof parsed[0] !== 'object' || parsed[0] === null) {
      this.logger.error(
        { tag },
        'redis transport: unacked entry is not [envelope, exchange, routing_key]; left in place',
      );
      return false;
    }
    const [envelope, exchange, routingKey] = parsed as [RedisEnvelope, unknown, unknown];
    return this.restore(
      tag,
      entry,
      String(ceiling),
      envelope,
      false,
      String(exchange ?? ''),
      String(routingKey ?? ''),
    );
  }

  private async restore(
    tag: string,
    expected: string,
    maxScore: string,
    envelope: RedisEnvelope,
    leftmost: boolean,
    exchange = envelope.properties?.delivery_info?.exchange ?? '',
    routingKey = envelope.properties?.delivery_info?.routing_key ?? '',
  ): Promise<boolean> {
    let queues = await this.routing.lookup(this.client, exchange, routingKey);
    if (queues.length === 0 && routingKey === '') {
      this.logger.error(
        { tag, exchange },
        'redis transport: a restored message has no queue and no routing key; left unacked',
      );
      return false;
    }
    if (queues.length === 0) {
      // kombu drops the message here (no dead-letter queue by default); we keep it where it can be seen.
      this.logger.warn(
        { tag, exchange, routingKey },
        'redis transport: no queue bound for a restored message; using the routing key as queue',
      );
      queues = [routingKey];
    }
    const step = this.keys.priorityStep(envelope.properties?.priority);
    const lists = queues.map((q) => this.keys.queueList(q, step));
    const payload = encodeEnvelope(markRedelivered(envelope));
    const result = await RESTORE.run(
      this.client,
      [this.keys.unacked, this.keys.unackedIndex, ...lists],
      [tag, expected, maxScore, payload, leftmost ? 'L' : 'R'],
    );
    return result === 1;
  }

  /**
   * Moves a delivery out of `unacked` into a dead list as `envelope` (the DEAD_LETTER script: both or
   * neither). Without a tag (a no-ack delivery, nothing unacked) it is only pushed. Returns false when
   * the entry was already gone (acked, or restored to its queue by another consumer): nothing is pushed.
   */
  async deadLetter(tag: string | undefined, envelope: string, deadList: string): Promise<boolean> {
    if (!tag) {
      await this.client.lpush(deadList, envelope);
      return true;
    }
    const moved = await DEAD_LETTER.run(
      this.client,
      [this.keys.unacked, this.keys.unackedIndex, deadList],
      [tag, envelope],
    );
    return moved === 1;
  }
}

/** kombu scores `unacked_index` with `time()`: epoch seconds as a float. */
export function epochSeconds(): number {
  return Date.now() / 1000;
}
