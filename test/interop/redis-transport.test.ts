/**
 * The Redis transport both ways: Celeriac and real Python Celery 5.2 (kombu's Redis transport)
 * share one Redis database as broker and result backend. Only the list/binding/unacked layout of
 * kombu/transport/redis.py is common ground, so each direction proves the other side reads it.
 */
import { afterAll, beforeAll, expect, it } from 'vitest';
import { Redis } from 'ioredis';
import { Celeriac } from 'celeriac';
import { Worker } from '../../packages/celeriac/src/worker/worker.ts';
import { describeInterop, PythonClient, PythonWorker, quietly, REDIS_URL, uniqueName } from './harness.ts';

const REDIS_DB = 9;
const redisUrl = `${REDIS_URL}/${REDIS_DB}`;

/** Every key of the db, so the suite can delete exactly the keys it (and its Python peers) created. */
async function keysOf(redis: Redis): Promise<Set<string>> {
  const keys = new Set<string>();
  let cursor = '0';
  do {
    const [next, batch] = await redis.scan(cursor, 'COUNT', 1000);
    cursor = next;
    for (const key of batch) keys.add(key);
  } while (cursor !== '0');
  return keys;
}

await describeInterop('Redis transport interop with Python Celery', () => {
  const pyQueue = uniqueName('interop-redis-py');
  const jsQueue = uniqueName('interop-redis-js');
  const redis = new Redis(redisUrl, { lazyConnect: true, maxRetriesPerRequest: 1 });
  let keysBefore = new Set<string>();
  let pyWorker: PythonWorker | undefined;
  let pyClient: PythonClient | undefined;
  let clientApp: Celeriac | undefined;
  let workerApp: Celeriac | undefined;
  let jsWorker: Worker | undefined;

  beforeAll(async () => {
    await redis.connect();
    keysBefore = await keysOf(redis);
    clientApp = new Celeriac({ broker: redisUrl, backend: redisUrl, defaultQueue: pyQueue });
    workerApp = new Celeriac({ broker: redisUrl, backend: redisUrl, defaultQueue: jsQueue });
    workerApp.task('tasks.add', (x: number, y: number) => x + y, { params: ['x', 'y'] });
    jsWorker = new Worker(workerApp, { queues: [jsQueue], hostname: `${jsQueue}@interop` });
    [pyWorker, pyClient] = await Promise.all([
      PythonWorker.start({ name: pyQueue, queue: pyQueue, broker: redisUrl, backend: redisUrl }),
      PythonClient.start({ queue: jsQueue, broker: redisUrl, backend: redisUrl }),
      jsWorker.start(),
    ]);
  });

  afterAll(async () => {
    await quietly(() => pyClient?.close());
    await quietly(() => pyWorker?.stop());
    await quietly(() => jsWorker?.stop());
    await quietly(() => clientApp?.close());
    await quietly(() => workerApp?.close());
    await quietly(async () => {
      const created = [...(await keysOf(redis))].filter((key) => !keysBefore.has(key));
      if (created.length > 0) await redis.del(...created);
    });
    redis.disconnect();
  });

  it('a Celeriac client sends tasks.add over Redis to a Python worker and reads 4 from the Redis backend', async () => {
    const result = await clientApp!.sendTask('tasks.add', [2, 2]);
    expect(await result.get({ timeout: 10_000 })).toBe(4);
    // Python ran it: its log names the task id (Celeriac has no worker on this queue).
    await pyWorker!.waitForLog(`Task tasks.add[${result.id}] succeeded`, 5_000);
    expect(await redis.llen(pyQueue)).toBe(0);
  });

  it("a Python client's send_task('tasks.add', args=[2, 2]) over Redis is run by a Celeriac worker; get() returns 4", async () => {
    const outcome = await pyClient!.run<{ id: string; state: string; value: unknown; raised: string | null }>(
      "outcome(app.send_task('tasks.add', args=[2, 2]), timeout=10)",
      20_000,
    );
    expect(outcome).toMatchObject({ state: 'SUCCESS', value: 4, raised: null });
    // The message is gone from the queue and from the unacked hash once the Celeriac worker acked it.
    expect(await redis.llen(jsQueue)).toBe(0);
    const unacked = await redis.hvals('unacked');
    expect(unacked.filter((entry) => entry.includes(outcome.id))).toEqual([]);
  });
});
