import type { Redis } from 'ioredis';
import { decodeJson, encodeJson } from '../../protocol/json.ts';
import type { ChordCounter, ChordPart } from '../chord-backend.ts';

/** `celery-taskset-meta-<gid>` plus `.j`, `.t` or `.s` (celery/backends/base.py `get_key_for_group`). */
export function chordKey(groupId: string, suffix: '.j' | '.t' | '.s'): string {
  return `celery-taskset-meta-${groupId}${suffix}`;
}

/**
 * Redis chord counters exactly as Celery 5.2 keeps them (celery/backends/redis.py
 * `on_chord_part_return`, §4.2), so a chord's header may run on Python and Celeriac workers alike:
 * each part is `ZADD .j {[1, id, state, result]: group_index}` in one MULTI with the count and
 * `.t`/`.s` reads, so exactly one finishing part sees `count == .s + .t`.
 */
export class RedisChordCounter implements ChordCounter {
  constructor(
    private readonly client: () => Promise<Redis>,
    /** The lifetime of the counters, as `result_expires`; null keeps them. */
    private readonly expiresMs: () => number | null,
  ) {}

  async setChordSize(groupId: string, size: number): Promise<void> {
    if (!Number.isInteger(size) || size < 1) throw new RangeError(`chord size must be >= 1, got ${size}`);
    const client = await this.client();
    const key = chordKey(groupId, '.s');
    const expires = this.expiresMs();
    // Python's backend `set`: SETEX (or SET) and a PUBLISH on the key's channel, in one pipeline.
    const pipe = client.multi();
    if (expires === null) pipe.set(key, String(size));
    else pipe.set(key, String(size), 'PX', expires);
    pipe.publish(key, String(size));
    await pipe.exec();
  }

  async addPart(part: ChordPart): Promise<ChordPart[] | undefined> {
    const client = await this.client();
    const jkey = chordKey(part.groupId, '.j');
    const tkey = chordKey(part.groupId, '.t');
    const skey = chordKey(part.groupId, '.s');
    const member = encodeJson([1, part.taskId, part.state, part.result]);
    const score = part.groupIndex === null ? '+inf' : String(part.groupIndex);
    const expires = this.expiresMs();
    const multi = client.multi().zadd(jkey, score, member).zcount(jkey, '-inf', '+inf').get(tkey).get(skey);
    if (expires !== null) {
      const seconds = Math.max(1, Math.ceil(expires / 1000));
      multi.expire(jkey, seconds).expire(tkey, seconds).expire(skey, seconds);
    }
    const replies = await multi.exec();
    if (!replies) throw new Error(`chord ${part.groupId}: the Redis transaction was aborted`);
    for (const [error] of replies) if (error) throw error;
    const readyCount = Number(replies[1]![1]);
    const added = Number(replies[2]![1] ?? 0);
    const size = replies[3]![1] as string | null;
    // No `.s`: the client did not set a size (not a chord on this backend), as Python: nothing to do.
    if (size === null || readyCount !== Number(size) + added) return undefined;
    const members = await client.zrange(jkey, '0', '-1');
    return members.map((text) => unpack(part.groupId, text));
  }

  async release(groupId: string): Promise<void> {
    const client = await this.client();
    await client.del(chordKey(groupId, '.j'), chordKey(groupId, '.t'), chordKey(groupId, '.s'));
  }
}

function unpack(groupId: string, text: string): ChordPart {
  const value = decodeJson(text);
  if (!Array.isArray(value) || value.length < 4 || typeof value[1] !== 'string') {
    throw new TypeError(
      `chord ${groupId}: unreadable part in ${chordKey(groupId, '.j')}: ${text.slice(0, 200)}`,
    );
  }
  return { groupId, taskId: value[1], state: String(value[2]), result: value[3], groupIndex: null };
}
