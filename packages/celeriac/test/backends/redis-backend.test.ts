import { Redis } from 'ioredis';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import {
  RedisBackendConfigError,
  type RedisBackendOptions,
} from '../../src/backends/redis/redis-backend-config.ts';
import { RedisBackend } from '../../src/backends/redis/redis-backend.ts';
import { uuid } from '../../src/util/ids.ts';
import { silentLogger } from '../../src/util/logger.ts';
import { metaFor, runBackendConformance, sleep } from '../backend-conformance.ts';
import { describeWith, uniqueName } from '../helpers/services.ts';
import { REDIS_BACKEND_URL } from './redis-test-url.ts';

await describeWith(['redis'], 'redis result backend', () => {
  runBackendConformance(
    'redis',
    () =>
      new RedisBackend(REDIS_BACKEND_URL, {
        logger: silentLogger,
        resultExpiresMs: 60_000,
        oid: uniqueName('oid'),
        getBrokerTransport: () => Promise.reject(new Error('redis:// does not use the broker')),
      }),
  );

  describe('wire format and edges', () => {
    const raw = new Redis(REDIS_BACKEND_URL, { lazyConnect: true });
    const sub = new Redis(REDIS_BACKEND_URL, { lazyConnect: true });
    const keys = new Set<string>();
    const opened: RedisBackend[] = [];
    const connectionName = uniqueName('celeriac-test');
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

    it('writes the meta as Python does, with SETEX-like expiry, and PUBLISHes it on the key', async () => {
      const b = backend();
      const id = uuid();
      const heard: [string, string][] = [];
      sub.on('message', (channel: string, text: string) => heard.push([channel, text]));
      await sub.subscribe(key(id));
      await b.store(metaFor(id, 'SUCCESS', 4, { parent_id: 'p-1' }), {});
      const text = await raw.get(key(id));
      expect(Object.keys(JSON.parse(text!))).toEqual([
        'status',
        'result',
        'traceback',
        'children',
        'date_done',
        'task_id',
        'parent_id',
      ]);
      expect(JSON.parse(text!)).toMatchObject({
        status: 'SUCCESS',
        result: 4,
        task_id: id,
        parent_id: 'p-1',
      });
      expect(JSON.parse(text!).date_done).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}$/);
      const ttl = await raw.pttl(key(id));
      expect(ttl).toBeGreaterThan(55_000);
      expect(ttl).toBeLessThanOrEqual(60_000);
      await sleep(20);
      expect(heard).toEqual([[key(id), text]]);
      await sub.unsubscribe(key(id));

      const overridden = uuid();
      await b.store(metaFor(overridden, 'SUCCESS', 1), { expiresSeconds: 5 });
      expect(await raw.pttl(key(overridden))).toBeLessThanOrEqual(5000);
      const forever = uuid();
      await b.store(metaFor(forever, 'SUCCESS', 1), { expiresSeconds: null });
      expect(await raw.ttl(key(forever))).toBe(-1);
      const noDefault = uuid();
      await backend({ resultExpiresMs: null }).store(metaFor(noDefault, 'SUCCESS', 1), {});
      expect(await raw.ttl(key(noDefault))).toBe(-1);
    });

    it('keeps a SUCCESS written by Python sticky, whatever its key order, and does not publish', async () => {
      const b = backend();
      const spaced = uuid();
      const reordered = uuid();
      // Python's json.dumps spacing; and a writer that puts status last (decoded by cjson in the script).
      await raw.set(
        key(spaced),
        `{"status": "SUCCESS", "result": 4, "traceback": null, "children": [], "date_done": "2022-10-01T12:00:10.456789", "task_id": "${spaced}"}`,
      );
      await raw.set(key(reordered), JSON.stringify({ result: 5, task_id: reordered, status: 'SUCCESS' }));
      const heard: string[] = [];
      sub.on('message', (channel: string) => heard.push(channel));
      await sub.subscribe(key(spaced), key(reordered));
      for (const id of [spaced, reordered]) {
        await b.store(
          metaFor(id, 'FAILURE', { exc_type: 'ValueError', exc_message: ['x'], exc_module: 'builtins' }),
          {},
        );
      }
      expect(await b.get(spaced)).toMatchObject({
        status: 'SUCCESS',
        result: 4,
        date_done: '2022-10-01T12:00:10.456789',
      });
      expect(await b.get(reordered)).toMatchObject({ status: 'SUCCESS', result: 5 });
      await sleep(20);
      expect(heard).toEqual([]);
      await sub.unsubscribe(key(spaced), key(reordered));
    });

    it('keeps SUCCESS sticky under concurrent writers', async () => {
      const a = backend();
      const c = backend();
      const ids = Array.from({ length: 50 }, () => uuid());
      await Promise.all(
        ids.flatMap((id) => [
          a.store(metaFor(id, 'SUCCESS', 'win'), {}),
          c.store(metaFor(id, 'FAILURE', { exc_type: 'E', exc_message: [], exc_module: 'm' }), {}),
        ]),
      );
      ids.forEach(key);
      // Each id's first write won or SUCCESS came second; either way SUCCESS is what stays.
      for (const id of ids) expect((await a.get(id)).status).toBe('SUCCESS');
    });

    it('bounds subscriptions for tasks nobody waits on, and keeps those with waiters', async () => {
      const b = backend({ maxSubscriptions: 10 });
      const waitedId = uuid();
      b.onTaskSent(waitedId);
      const waiting = b.waitReady(waitedId, { timeoutMs: 5000 });
      const others = Array.from({ length: 30 }, () => uuid());
      for (const id of others) b.onTaskSent(id);
      expect(b.subscriptionCount).toBe(10);
      // onTaskSent does not wait for the SUBSCRIBE reply: poll the server until it has caught up.
      const channels = [waitedId, ...others].map(key);
      let counts = await numsub(raw, channels);
      for (let tries = 0; tries < 200 && counts.get(key(others.at(-1)!)) !== 1; tries++) {
        await sleep(10);
        counts = await numsub(raw, channels);
      }
      expect(counts.get(key(waitedId))).toBe(1);
      // The newest 9 others are still subscribed, the oldest were dropped on the server too.
      expect(others.slice(-9).map((id) => counts.get(key(id)))).toEqual(Array(9).fill(1));
      expect(others.slice(0, 21).map((id) => counts.get(key(id)))).toEqual(Array(21).fill(0));
      // A ready state unsubscribes and is remembered for a later wait.
      const last = others.at(-1)!;
      await backend().store(metaFor(last, 'SUCCESS', 'remembered'), {});
      await backend().store(metaFor(waitedId, 'SUCCESS', 'waited'), {});
      expect(await waiting).toMatchObject({ result: 'waited' });
      await sleep(20);
      expect((await numsub(raw, [key(last), key(waitedId)])).get(key(last))).toBe(0);
      expect(b.subscriptionCount).toBe(8);
      await raw.del(key(last));
      expect(await b.waitReady(last, { timeoutMs: 500 })).toMatchObject({ result: 'remembered' });
    });

    it('re-subscribes after the subscriber connection drops and finds results it missed with MGET', async () => {
      const b = backend();
      const missed = uuid();
      const later = uuid();
      const waitMissed = b.waitReady(missed, { timeoutMs: 8000 });
      const waitLater = b.waitReady(later, { timeoutMs: 8000 });
      await sleep(50);
      // Stored without a PUBLISH: only the re-check after the reconnect can find it.
      await raw.set(key(missed), JSON.stringify(metaFor(missed, 'SUCCESS', 'found by MGET')));
      const killed = await killClient(raw, `${connectionName}:sub`);
      expect(killed).toBe(1);
      expect(await waitMissed).toMatchObject({ result: 'found by MGET' });
      // Subscribed again: a normal store wakes the other waiter by PUBLISH.
      await backend().store(metaFor(later, 'SUCCESS', 'published'), {});
      key(later);
      expect(await waitLater).toMatchObject({ result: 'published' });
    });

    it('ignores an unreadable PUBLISH and rejects get() on a corrupt stored value with ResultDecodeError', async () => {
      const b = backend();
      const id = uuid();
      const waiting = b.waitReady(id, { timeoutMs: 3000 });
      await sleep(50);
      await raw.publish(key(id), 'garbage{');
      await raw.publish(key(id), JSON.stringify({ no: 'status' }));
      await backend().store(metaFor(id, 'SUCCESS', 'good'), {});
      expect(await waiting).toMatchObject({ result: 'good' });
      await raw.set(key(id), 'garbage{');
      await expect(b.get(id)).rejects.toMatchObject({
        name: 'ResultDecodeError',
        code: 'RESULT_DECODE',
        taskId: id,
      });
      await raw.set(key(id), '"a string"');
      await expect(b.get(id)).rejects.toThrow(/expected an object/);
    });

    it('says what is wrong with a bad URL or an unreachable server', async () => {
      const options = {
        logger: silentLogger,
        resultExpiresMs: 1000,
        oid: 'o',
        getBrokerTransport: () => Promise.reject(new Error('x')),
      };
      expect(() => new RedisBackend('redis://h:6379/zero', options)).toThrow(RedisBackendConfigError);
      expect(() => new RedisBackend('redis://h:6379/zero', options)).toThrow(/use a number/);
      expect(() => new RedisBackend('redis://:secret@h:6379/0', { ...options, resultExpiresMs: -1 })).toThrow(
        /resultExpiresMs/,
      );
      expect(new RedisBackend('redis://:secret@h:6379/2', options).safeUrl).toBe('redis://:**@h:6379/2');
      const unreachable = new RedisBackend('redis://127.0.0.1:1/0', options);
      await expect(unreachable.connect()).rejects.toThrow(
        /cannot connect to the Redis result backend at redis:\/\/127.0.0.1:1\/0/,
      );
      await unreachable.close();
    });
  });
});

async function numsub(redis: Redis, channels: string[]): Promise<Map<string, number>> {
  const reply = (await redis.call('PUBSUB', 'NUMSUB', ...channels)) as (string | number)[];
  const counts = new Map<string, number>();
  for (let i = 0; i < reply.length; i += 2) counts.set(String(reply[i]), Number(reply[i + 1]));
  return counts;
}

/** Drops a connection by its CLIENT SETNAME, as a network blip would. */
async function killClient(redis: Redis, name: string): Promise<number> {
  const list = (await redis.call('CLIENT', 'LIST')) as string;
  const ids = list
    .split('\n')
    .filter((line) => line.includes(` name=${name} `))
    .map((line) => /(?:^|\s)id=(\d+)/.exec(line)?.[1])
    .filter((id): id is string => id !== undefined);
  let killed = 0;
  for (const id of ids) killed += Number(await redis.call('CLIENT', 'KILL', 'ID', id));
  return killed;
}
