import amqplib from 'amqplib';
import { Redis } from 'ioredis';
import { afterAll, afterEach, expect, it } from 'vitest';
import { Celeriac } from '../../src/app/celeriac.ts';
import type { TaskContext } from '../../src/task/context.ts';
import type { RedisBackendOptions } from '../../src/backends/redis/redis-backend-config.ts';
import { RedisBackend } from '../../src/backends/redis/redis-backend.ts';
import { RedisStoreError } from '../../src/backends/redis/redis-store-batch.ts';
import { uuid } from '../../src/util/ids.ts';
import { silentLogger } from '../../src/util/logger.ts';
import { metaFor } from '../backend-conformance.ts';
import { capturingLogger } from './capturing-logger.ts';
import { describeWith, SERVICES, uniqueName } from '../helpers/services.ts';
import { startWorker, stopAll, waitFor } from '../worker/helpers.ts';
import { REDIS_BACKEND_URL } from './redis-test-url.ts';

const failure = { exc_type: 'ValueError', exc_message: ['x'], exc_module: 'builtins' };

await describeWith(['redis'], 'redis result backend: batched stores', () => {
  const raw = new Redis(REDIS_BACKEND_URL, { lazyConnect: true });
  const sub = new Redis(REDIS_BACKEND_URL, { lazyConnect: true });
  const keys = new Set<string>();
  const opened: RedisBackend[] = [];
  const connectionName = uniqueName('celeriac-batch');
  const backend = (over: Partial<RedisBackendOptions> = {}) => {
    const b = new RedisBackend(REDIS_BACKEND_URL, {
      logger: silentLogger,
      resultExpiresMs: 60_000,
      oid: 'unused',
      getBrokerTransport: () => Promise.reject(new Error('unused')),
      connectionName,
      ...over,
    });
    opened.push(b);
    return b;
  };
  const key = (id: string) => {
    keys.add(`celery-task-meta-${id}`);
    return `celery-task-meta-${id}`;
  };
  afterEach(async () => {
    await Promise.all(opened.splice(0).map((b) => b.close()));
    if (keys.size > 0) await raw.del(...keys);
    keys.clear();
  });
  afterAll(() => {
    raw.disconnect();
    sub.disconnect();
  });

  it('stores a turn of results in one script call per storeBatchSize, each with its TTL, each PUBLISHed', async () => {
    const b = backend({ storeBatchSize: 64 });
    await b.connect();
    // Watch this backend's command connection only: the Redis is shared with other tests.
    const addr = await clientAddr(raw, `${connectionName}:cmd`);
    const monitor = await raw.monitor();
    const scriptCalls: number[] = [];
    monitor.on('monitor', (_time: string, args: string[], source: string) => {
      if (source === addr && /^eval(sha)?$/i.test(args[0] ?? '')) scriptCalls.push(Number(args[2]));
    });
    const ids = Array.from({ length: 200 }, () => uuid());
    const heard = new Set<string>();
    sub.on('message', (channel: string) => heard.add(channel));
    await sub.subscribe(...ids.map(key));
    await Promise.all(
      ids.map((id, i) =>
        b.store(metaFor(id, 'SUCCESS', i), { expiresSeconds: i === 0 ? null : i === 1 ? 5 : undefined }),
      ),
    );
    await waitFor(() => heard.size === ids.length, 5000, 'every PUBLISH');
    await waitFor(() => scriptCalls.length >= 4, 5000, 'MONITOR to show the script calls');
    monitor.disconnect();
    // 200 stores made in one turn: 64 + 64 + 64 at once, the last 8 at the end of the turn.
    expect(scriptCalls).toEqual([64, 64, 64, 8]);
    const values = await raw.mget(...ids.map(key));
    expect(values.map((v) => JSON.parse(v!).result)).toEqual(ids.map((_, i) => i));
    expect(await raw.ttl(key(ids[0]!))).toBe(-1);
    expect(await raw.pttl(key(ids[1]!))).toBeLessThanOrEqual(5000);
    expect(await raw.pttl(key(ids[2]!))).toBeGreaterThan(5000);
    await sub.unsubscribe(...ids.map(key));
  });

  it('keeps SUCCESS sticky inside one batch, in the order the states were stored', async () => {
    const b = backend();
    const sticky = uuid();
    const replaced = uuid();
    const heard: string[] = [];
    sub.on('message', (channel: string, text: string) => {
      if (channel === key(sticky)) heard.push(JSON.parse(text).status);
    });
    await sub.subscribe(key(sticky));
    // Four stores in the same turn: one batch.
    await Promise.all([
      b.store(metaFor(sticky, 'SUCCESS', 'first'), {}),
      b.store(metaFor(sticky, 'FAILURE', failure), {}),
      b.store(metaFor(replaced, 'RETRY', failure), {}),
      b.store(metaFor(replaced, 'SUCCESS', 'after retry'), {}),
    ]);
    expect(await b.get(sticky)).toMatchObject({ status: 'SUCCESS', result: 'first' });
    expect(await b.get(replaced)).toMatchObject({ status: 'SUCCESS', result: 'after retry' });
    await waitFor(() => heard.length > 0, 2000, 'the PUBLISH');
    expect(heard).toEqual(['SUCCESS']); // the skipped FAILURE is not announced
    await sub.unsubscribe(key(sticky));
  });

  it('fails only the store Redis refused; the rest of its batch is stored', async () => {
    const b = backend();
    const [before, poisoned, after] = [uuid(), uuid(), uuid()];
    await raw.hset(key(poisoned), 'not', 'a string');
    const outcomes = await Promise.allSettled([
      b.store(metaFor(before, 'SUCCESS', 1), {}),
      b.store(metaFor(poisoned, 'SUCCESS', 2), {}),
      b.store(metaFor(after, 'SUCCESS', 3), {}),
    ]);
    expect(outcomes.map((o) => o.status)).toEqual(['fulfilled', 'rejected', 'fulfilled']);
    const reason = (outcomes[1] as PromiseRejectedResult).reason as RedisStoreError;
    expect(reason).toBeInstanceOf(RedisStoreError);
    expect(reason.message).toMatch(/WRONGTYPE/);
    expect(await raw.type(key(poisoned))).toBe('hash');
    expect((await b.get(before)).result).toBe(1);
    expect((await b.get(after)).result).toBe(3);
  });

  it('sends stores made just before close() and waits for their reply', async () => {
    const b = backend();
    const ids = Array.from({ length: 20 }, () => uuid());
    const stores = ids.map((id) => b.store(metaFor(id, 'SUCCESS', id), {}));
    await b.close();
    await expect(Promise.all(stores)).resolves.toHaveLength(ids.length);
    const values = await raw.mget(...ids.map(key));
    expect(values.map((v) => JSON.parse(v!).result)).toEqual(ids);
    await expect(b.store(metaFor(uuid(), 'SUCCESS', 1), {})).rejects.toMatchObject({
      code: 'BACKEND_CLOSED',
    });
  });

  it('onTaskSent does not wait for Redis, and a result stored right after it still wakes get()', async () => {
    const client = backend();
    const worker = backend();
    await Promise.all([client.connect(), worker.connect()]);
    const ids = Array.from({ length: 30 }, () => uuid());
    const waits = ids.map((id) => {
      expect(client.onTaskSent(id)).toBeUndefined();
      key(id);
      // Stored before the SUBSCRIBE can have been confirmed: the PUBLISH may come too early.
      void worker.store(metaFor(id, 'SUCCESS', id), {});
      return client.waitReady(id, { timeoutMs: 5000 });
    });
    const metas = await Promise.all(waits);
    expect(metas.map((m) => m.result)).toEqual(ids);
  });
});

await describeWith(['redis', 'rabbitmq'], 'worker storing results on Redis in batches', () => {
  const queue = uniqueName('redis-batch-worker');
  const raw = new Redis(REDIS_BACKEND_URL, { lazyConnect: true });
  const keys: string[] = [];
  const apps: Celeriac[] = [];
  afterEach(async () => {
    await stopAll();
    await Promise.all(apps.splice(0).map((app) => app.close()));
  });
  afterAll(async () => {
    if (keys.length > 0) await raw.del(...keys);
    raw.disconnect();
    const connection = await amqplib.connect(SERVICES.rabbitmq.url);
    const channel = await connection.createChannel();
    await channel.deleteQueue(queue);
    await channel.deleteExchange(queue);
    await connection.close();
  });

  it('acks (acksLate) only what is stored: the task Redis refused comes back, the others finish', async () => {
    const { logger, lines } = capturingLogger();
    const app = new Celeriac({
      broker: SERVICES.rabbitmq.url,
      backend: REDIS_BACKEND_URL,
      defaultQueue: queue,
      acksLate: true,
      logger,
    });
    apps.push(app);
    const runs = new Map<string, number>();
    const task = app.task(
      'batch.echo',
      (ctx: TaskContext, n: number) => {
        runs.set(ctx.id, (runs.get(ctx.id) ?? 0) + 1);
        return n;
      },
      { bind: true },
    );
    const ids = Array.from({ length: 120 }, () => uuid());
    keys.push(...ids.map((id) => `celery-task-meta-${id}`));
    const poisoned = ids[57]!;
    await raw.hset(`celery-task-meta-${poisoned}`, 'not', 'a string');
    await startWorker(app, { concurrency: 40, resultStoreRetryMs: 200 });
    await Promise.all(ids.map((id, n) => task.applyAsync([n], {}, { taskId: id })));
    const backend = (await app.requireBackend()) as RedisBackend;
    // Every other task is stored; the poisoned one keeps being given back and run again.
    await waitFor(
      async () => {
        const values = await raw.mget(
          ...ids.filter((id) => id !== poisoned).map((id) => `celery-task-meta-${id}`),
        );
        return values.every((v) => v !== null && JSON.parse(v).status === 'SUCCESS');
      },
      15_000,
      'the other results',
    );
    // Its state could not be stored, so its message was not acked: it came back and ran again.
    await waitFor(() => (runs.get(poisoned) ?? 0) >= 2, 10_000, 'the refused task to run again');
    expect(await raw.type(`celery-task-meta-${poisoned}`)).toBe('hash');
    const givenBack = lines().filter((l) => /back to the broker/.test(String(l.msg)));
    expect(givenBack.length).toBeGreaterThanOrEqual(1);
    expect(givenBack.every((l) => String(l.msg).includes(poisoned))).toBe(true);
    await raw.del(`celery-task-meta-${poisoned}`);
    expect(await app.AsyncResult(poisoned).get({ timeout: 10_000 })).toBe(57);
    expect((await backend.get(poisoned)).status).toBe('SUCCESS');
    expect(ids.filter((id) => id !== poisoned).every((id) => runs.get(id) === 1)).toBe(true);
  });
});

/** The `addr=` of the connection named `name` (CLIENT SETNAME), as MONITOR reports its source. */
async function clientAddr(redis: Redis, name: string): Promise<string> {
  const list = (await redis.call('CLIENT', 'LIST')) as string;
  const line = list.split('\n').find((l) => l.includes(` name=${name} `));
  const addr = line && /(?:^|\s)addr=(\S+)/.exec(line)?.[1];
  if (!addr) throw new Error(`no Redis client named ${name}`);
  return addr;
}
