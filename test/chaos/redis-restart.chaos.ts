/**
 * The RabbitMQ restart scenario with Redis as transport AND result backend, on a private
 * redis-server, in two forms:
 *
 * 1. Redis itself dies (SHUTDOWN NOSAVE, twice, 3 s down) and comes back empty. Redis keeps nothing
 *    on disk here (`--save "" --appendonly no`), so every message it held at that moment (queued, or
 *    delivered and not yet acked) dies with it: that is the broker's durability limit, not a Celeriac
 *    loss, and it is reported as such. What Celeriac must still do: every call resolves or rejects
 *    visibly, both sides reconnect by themselves, and no task confirmed after the last crash is lost.
 * 2. Redis stays up but every connection is cut (a TCP proxy drops them and refuses new ones for 3 s,
 *    twice): nothing may be lost at all.
 *
 * Runs are counted in the shared Redis (not the one that dies), so the figures are exact.
 */
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Celeriac } from '../../packages/celeriac/src/app/celeriac.ts';
import { Worker } from '../../packages/celeriac/src/worker/worker.ts';
import { describeWith, SERVICES, uniqueName } from '../../packages/celeriac/test/helpers/services.ts';
import { TcpProxy } from '../../packages/celeriac/test/reliability/tcp-proxy.ts';
import { pollUntil, tally } from './chaos-helpers.ts';
import { startPrivateRedis, type PrivateRedis } from './private-services.ts';
import { hold, ProducerLoad, registerRecorder } from './rabbitmq-restart-load.ts';
import { recordScenario } from './report.ts';

const PRODUCERS = 3;
const PER_SECOND = 60;
const OUTAGE_MS = 3_000;
const FAULTS = 2;
/** Short, so deliveries whose ack was lost with a connection come back within the test. */
const brokerOptions = { visibilityTimeoutMs: 5_000 };

interface Rig {
  workerApp: Celeriac;
  producers: Celeriac[];
  worker: Worker;
  close(): Promise<void>;
}

/** A worker (acksLate, results in the same Redis) and PRODUCERS producer apps, all on `url`. */
async function rig(
  url: string,
  queue: string,
  counter: Redis,
  runsKey: string,
  worker: { concurrency: number; taskMs: number },
): Promise<Rig> {
  const workerApp = new Celeriac({
    broker: url,
    backend: url,
    defaultQueue: queue,
    acksLate: true,
    brokerOptions,
  });
  registerRecorder(workerApp, counter, runsKey, worker.taskMs);
  const producers = Array.from(
    { length: PRODUCERS },
    () => new Celeriac({ broker: url, backend: url, defaultQueue: queue, brokerOptions }),
  );
  const running = new Worker(workerApp, {
    queues: [queue],
    concurrency: worker.concurrency,
    resultStoreRetryMs: 30_000,
  });
  await running.start();
  return {
    workerApp,
    producers,
    worker: running,
    close: async () => {
      await running.stop({ graceful: false }).catch(() => undefined);
      for (const app of producers) await app.close().catch(() => undefined);
      await workerApp.close().catch(() => undefined);
    },
  };
}

/** Messages that may arrive between the count and the SHUTDOWN (about a millisecond at 180 calls/s). */
const COUNT_WINDOW_SLACK = 3;

/**
 * What Redis holds (queued + delivered-unacked), read just before SHUTDOWN NOSAVE on the same
 * connection. The reads are awaited first: sent in one write with the SHUTDOWN, their replies are
 * lost (Redis exits without flushing them), and CLIENT PAUSE would pause this client too. A message
 * published in the moment between is allowed for by COUNT_WINDOW_SLACK per kill.
 */
async function countThenShutdown(url: string, queue: string): Promise<number> {
  const direct = new Redis(`${url}/0`, { maxRetriesPerRequest: 1 });
  direct.on('error', () => undefined);
  try {
    const [queued, unacked] = await Promise.all([direct.llen(queue), direct.hlen('unacked')]);
    void direct.shutdown('NOSAVE').catch(() => undefined);
    return queued + unacked;
  } finally {
    setTimeout(() => direct.disconnect(), 500).unref();
  }
}

await describeWith(['redis'], 'Redis as transport and result backend, under faults (acksLate)', () => {
  const counter = new Redis(SERVICES.redis.url, { maxRetriesPerRequest: 3 });
  const keys: string[] = [];
  let redis: PrivateRedis;

  beforeAll(async () => {
    redis = await startPrivateRedis();
  }, 60_000);

  afterAll(async () => {
    await redis?.stop();
    if (keys.length > 0) await counter.del(...keys).catch(() => undefined);
    counter.disconnect();
  });

  describe('Redis killed and restarted empty', () => {
    const queue = uniqueName('chaos-redis-restart');
    const runsKey = `${queue}:runs`;
    keys.push(runsKey);
    let r: Rig | undefined;
    afterAll(async () => r?.close());

    it('calls settle visibly, both sides reconnect, only what Redis held when it died is gone', async () => {
      // A worker slower than the producers (2 × 25 ms tasks, ~80/s against 180/s), so a backlog sits in
      // Redis when it dies: what the crash takes is then measured, not hoped to be zero.
      r = await rig(`${redis.url}/0`, queue, counter, runsKey, { concurrency: 2, taskMs: 25 });
      let heldAtCrashes = 0;
      const load = new ProducerLoad(r.producers, PER_SECOND);
      const crashes: number[] = [];
      let lastStartAt = 0;
      let redisUp = true;
      load.start();
      try {
        for (let i = 0; i < FAULTS; i++) {
          await hold(4_000);
          // Read what Redis holds (queued + delivered-unacked), then SHUTDOWN right behind it on the same
          // connection: no reply is awaited in between, so the count is the content at the moment it dies.
          redisUp = false;
          heldAtCrashes += await countThenShutdown(redis.url, queue);
          await redis.shutdown(); // waits for the process to exit
          crashes.push(Date.now());
          await hold(OUTAGE_MS);
          await redis.start();
          redisUp = true;
          lastStartAt = Date.now();
        }
        await hold(4_000);
      } finally {
        load.stop();
        // A failure between the kill and the restart must not leave the next scenario without Redis.
        if (!redisUp) await redis.start();
      }
      await pollUntil(() => load.pending === 0, 60_000, 'every sendTask call to settle');
      const resolvedIds = load.resolved.map((c) => c.id);
      // Everything confirmed after the last crash must run; wait for that, not for the dead ones.
      const afterCrash = load.resolved.filter((c) => c.calledAt > lastStartAt);
      await pollUntil(
        async () =>
          (
            await tally(
              counter,
              runsKey,
              afterCrash.map((c) => c.id),
            )
          ).lost === 0,
        60_000,
        'every task confirmed after the last crash to run',
      ).catch(() => undefined);
      const t = await tally(counter, runsKey, resolvedIds);
      const runs = await counter.hgetall(runsKey);
      const lost = load.resolved.filter((c) => runs[c.id] === undefined);
      // A lost task "died with Redis" if it was confirmed before some crash (the server's exit).
      const diedWithRedis = lost.filter((c) => crashes.some((at) => c.settledAt <= at));
      const rejectedButRan = load.rejected.filter((c) => runs[c.id] !== undefined).length;

      recordScenario({
        id: 'redis-restart',
        scenario: 'Redis (transport + results) killed with SHUTDOWN NOSAVE and restarted empty',
        load: `${PRODUCERS} producers × ${PER_SECOND} calls/s, 1 worker (async, concurrency 2, 25 ms tasks, acksLate)`,
        faults: `${FAULTS} × SHUTDOWN NOSAVE, ${OUTAGE_MS / 1000} s down, restarted with no data`,
        sent: load.resolved.length,
        completed: t.completed,
        duplicates: t.duplicates,
        lost: t.lost,
        notes:
          `Redis held ${heldAtCrashes} messages (queued + unacked) when it was killed; ${diedWithRedis.length} ` +
          `confirmed tasks died with it (no persistence configured: the broker's durability limit, not a ` +
          `Celeriac loss; use appendonly yes or RabbitMQ), ${lost.length - diedWithRedis.length} lost otherwise; ` +
          `every task confirmed after the last restart ran. ${load.calls} calls: ${load.resolved.length} resolved, ` +
          `${load.rejected.length} rejected visibly (${rejectedButRan} ran anyway)` +
          (load.rejected.length > 0 ? `; errors: ${load.errorSummary()}` : ''),
      });

      expect(load.pending).toBe(0);
      expect(lost.filter((c) => !diedWithRedis.includes(c))).toEqual([]);
      // Only what Redis held can have died with it (unacked ones still ran in the worker).
      expect(lost.length).toBeLessThanOrEqual(heldAtCrashes + COUNT_WINDOW_SLACK * FAULTS);
      // Both sides reconnected by themselves: calls after the last restart were confirmed and ran.
      expect(afterCrash.length).toBeGreaterThan(PRODUCERS * PER_SECOND);
      expect(afterCrash.every((c) => runs[c.id] !== undefined)).toBe(true);
    });
  });

  describe('Redis alive, every connection cut', () => {
    const queue = uniqueName('chaos-redis-cut');
    const runsKey = `${queue}:runs`;
    keys.push(runsKey);
    let r: Rig | undefined;
    let proxy: TcpProxy | undefined;
    afterAll(async () => {
      await r?.close();
      await proxy?.close();
    });

    it('nothing is lost when connections drop and come back', async () => {
      proxy = await TcpProxy.start({ host: '127.0.0.1', port: redis.port });
      r = await rig(`redis://127.0.0.1:${proxy.port}/0`, queue, counter, runsKey, {
        concurrency: 8,
        taskMs: 0,
      });
      const load = new ProducerLoad(r.producers, PER_SECOND);
      load.start();
      try {
        for (let i = 0; i < FAULTS; i++) {
          await hold(4_000);
          proxy.down();
          await hold(OUTAGE_MS);
          proxy.up();
        }
        await hold(4_000);
      } finally {
        load.stop();
      }
      await pollUntil(() => load.pending === 0, 60_000, 'every sendTask call to settle');
      const resolvedIds = load.resolved.map((c) => c.id);
      await pollUntil(
        async () => (await tally(counter, runsKey, resolvedIds)).lost === 0,
        60_000,
        'every resolved task to run',
      ).catch(() => undefined);
      const t = await tally(counter, runsKey, resolvedIds);
      const runs = await counter.hgetall(runsKey);
      const rejectedButRan = load.rejected.filter((c) => runs[c.id] !== undefined).length;

      recordScenario({
        id: 'redis-connections-cut',
        scenario: 'Redis (transport + results) alive, every client connection cut',
        load: `${PRODUCERS} producers × ${PER_SECOND} calls/s, 1 worker (async pool, concurrency 8, acksLate)`,
        faults: `${FAULTS} × all connections dropped and refused for ${OUTAGE_MS / 1000} s (TCP proxy)`,
        sent: load.resolved.length,
        completed: t.completed,
        duplicates: t.duplicates,
        lost: t.lost,
        notes:
          `${load.calls} calls: ${load.resolved.length} resolved, ${load.rejected.length} rejected visibly ` +
          `(${rejectedButRan} ran anyway)` +
          (load.rejected.length > 0 ? `; errors: ${load.errorSummary()}` : ''),
      });

      expect(load.pending).toBe(0);
      expect(t.lost).toBe(0);
      expect(t.unexpected).toBe(rejectedButRan);
      expect(proxy.refused).toBeGreaterThan(0);
    });
  });
});
