import type { Redis } from 'ioredis';
import type { QueueStats } from '../transport.ts';
import type { RedisKeys } from './redis-keys.ts';
import { execOrThrow, type RedisRouting } from './redis-routing.ts';

/** Past this many unacked deliveries the per-queue split is not worth a scan; `unacked` is left out. */
const UNACKED_SCAN_LIMIT = 20_000;

/**
 * Counts for monitors: LLEN over kombu's priority lists of each queue, and the deliveries in the
 * `unacked` hash attributed to queues the way restore_visible would route them back. Redis has no
 * consumer count (BRPOP leaves no trace), so `consumers` is absent.
 */
export async function redisQueueStats(
  client: Redis,
  keys: RedisKeys,
  routing: RedisRouting,
  queues: readonly string[],
): Promise<Map<string, QueueStats>> {
  const pipeline = client.pipeline();
  for (const queue of queues) for (const list of keys.queueLists(queue)) pipeline.llen(list);
  const lengths = (await execOrThrow(pipeline)).map(Number);
  const perQueue = keys.queueLists('x').length;
  const unacked = await unackedByQueue(client, keys, routing, new Set(queues));
  return new Map(
    queues.map((queue, i) => {
      const ready = lengths.slice(i * perQueue, (i + 1) * perQueue).reduce((a, b) => a + b, 0);
      return [queue, unacked ? { ready, unacked: unacked.get(queue) ?? 0 } : { ready }];
    }),
  );
}

async function unackedByQueue(
  client: Redis,
  keys: RedisKeys,
  routing: RedisRouting,
  wanted: ReadonlySet<string>,
): Promise<Map<string, number> | undefined> {
  if ((await client.hlen(keys.unacked)) > UNACKED_SCAN_LIMIT) return undefined;
  const counts = new Map<string, number>();
  const routes = new Map<string, Promise<string[]>>();
  let cursor = '0';
  do {
    const [next, flat] = await client.hscan(keys.unacked, cursor, 'COUNT', 500);
    cursor = next;
    for (let i = 1; i < flat.length; i += 2) {
      const route = parseRoute(flat[i]!);
      if (!route) continue;
      const key = `${route.exchange}\u0000${route.routingKey}`;
      let lookup = routes.get(key);
      if (!lookup) routes.set(key, (lookup = routing.lookup(client, route.exchange, route.routingKey)));
      const targets = await lookup;
      // A message nobody is bound for goes back under its routing key (redis-ack-emulation.ts).
      for (const queue of targets.length ? targets : [route.routingKey]) {
        if (wanted.has(queue)) counts.set(queue, (counts.get(queue) ?? 0) + 1);
      }
    }
  } while (cursor !== '0');
  return counts;
}

/** An `unacked` entry is `[envelope, exchange, routing_key]` (kombu `QoS.append`). */
function parseRoute(entry: string): { exchange: string; routingKey: string } | undefined {
  try {
    const parsed = JSON.parse(entry) as unknown;
    if (!Array.isArray(parsed)) return undefined;
    return { exchange: String(parsed[1] ?? ''), routingKey: String(parsed[2] ?? '') };
  } catch {
    return undefined;
  }
}
