/**
 * A worker SIGKILLed again and again (1–3 s after it is ready, restarted each time) while 10,000
 * acksLate tasks run, once per pool. Each task records its runs in Redis, so the count is exact and
 * independent of any result backend: every task must complete at least once (none lost); duplicates
 * (tasks that finished but whose ack died with the worker) are counted and reported. Killing the worker
 * must not leave orphan pool children either.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { afterAll, expect, it } from 'vitest';
import { Celeriac } from '../../packages/celeriac/src/app/celeriac.ts';
import { describeWith, SERVICES, uniqueName } from '../../packages/celeriac/test/helpers/services.ts';
import { pollUntil, tally } from './chaos-helpers.ts';
import { recordScenario } from './report.ts';
import { processesTagged, startWorkerCli, writeTaskModule, type WorkerChild } from './worker-process.ts';

const TASKS = Number(process.env.CHAOS_KILL_TASKS ?? 10_000);
/** Kills per pool; after the last one, a worker runs the rest to the end (the suite has a time budget). */
const KILLS = Number(process.env.CHAOS_KILLS ?? 5);
/**
 * Task length and concurrency per pool, so that each worker life (1–3 s) runs well under 10,000 / KILLS
 * tasks and every kill lands mid-run. Threads and processes start one task-module loader per unit of
 * concurrency (seconds each on a busy 2-core box), hence the low -c there.
 */
const SCENARIOS = [
  { broker: 'amqp', pool: 'async', concurrency: 16, taskMs: 20 },
  { broker: 'amqp', pool: 'threads', concurrency: 2, taskMs: 2 },
  { broker: 'amqp', pool: 'processes', concurrency: 2, taskMs: 2 },
  // Redis: a killed worker's deliveries stay in `unacked` until the visibility timeout (short here), when
  // the next worker restores them (kombu's ack emulation).
  { broker: 'redis', pool: 'async', concurrency: 16, taskMs: 20 },
] as const;
const VISIBILITY_TIMEOUT_MS = 3_000;

await describeWith(['rabbitmq', 'redis'], 'worker SIGKILLed again and again (acksLate)', () => {
  const dir = mkdtempSync(join(tmpdir(), 'celeriac-chaos-kill-'));
  const redis = new Redis(SERVICES.redis.url, { maxRetriesPerRequest: 2 });
  const cleanups: Array<() => Promise<unknown>> = [];

  afterAll(async () => {
    for (const cleanup of cleanups.reverse()) await cleanup().catch(() => undefined);
    redis.disconnect();
    rmSync(dir, { recursive: true, force: true });
  });

  // CHAOS_KILL_ONLY=redis-async (say) runs one scenario, for working on it.
  const only = process.env.CHAOS_KILL_ONLY;
  for (const { broker: kind, pool, concurrency, taskMs } of SCENARIOS) {
    if (only && only !== `${kind}-${pool}`) continue;
    it(`${kind}, ${pool} pool: every task completes at least once, none lost`, async () => {
      const queue = uniqueName(`chaos-kill-${kind}-${pool}`);
      const runsKey = `${queue}:runs`;
      const keyprefix = `${queue}:kombu:`;
      const broker = kind === 'amqp' ? SERVICES.rabbitmq.url : `${SERVICES.redis.url}/0`;
      const brokerOptions =
        kind === 'redis' ? { globalKeyprefix: keyprefix, visibilityTimeoutMs: VISIBILITY_TIMEOUT_MS } : {};
      const module = writeTaskModule(mkdtempSync(join(dir, `${kind}-${pool}-`)), {
        queue,
        runsKey,
        redisUrl: SERVICES.redis.url,
        brokerOptions,
      });
      const client = new Celeriac({ broker, brokerOptions, defaultQueue: queue });
      cleanups.push(async () => {
        await (await client.connection()).deleteQueue(queue).catch(() => undefined);
        await client.close();
        await redis.del(runsKey);
        const leftovers = await redis.keys(`${keyprefix}*`);
        if (leftovers.length) await redis.del(...leftovers);
      });
      const transport = await client.connection();
      await client.declareQueueOnce(transport, { name: queue });
      // Deliveries not settled yet: ready in the queue, plus (Redis) held in `unacked` by a dead worker.
      const pending = async () =>
        (await transport.queueLength(queue)) +
        (kind === 'redis' ? await redis.hlen(`${keyprefix}unacked`) : 0);
      const ids: string[] = [];
      for (let start = 0; start < TASKS; start += 500) {
        const batch = Array.from({ length: Math.min(500, TASKS - start) }, (_, k) => start + k);
        await Promise.all(batch.map((n) => client.sendTask('chaos.work', [n, taskMs], {}, { queue })));
        ids.push(...batch.map(String));
      }
      const done = async () => (await redis.hlen(runsKey)) >= TASKS;
      const spawnWorker = (): WorkerChild =>
        startWorkerCli({ module, broker, queue, pool, concurrency, tag: queue });

      let kills = 0;
      let killedMidRun = 0;
      const started = Date.now();
      while (!(await done())) {
        const worker = spawnWorker();
        if (kills >= KILLS) {
          await worker.ready;
          await pollUntil(done, 240_000, `all ${TASKS} tasks run`, 500);
          worker.child.kill('SIGTERM');
          expect(await worker.exited).toBe('0');
          break;
        }
        const spawnedAt = Date.now();
        await worker.ready;
        const readyMs = Date.now() - spawnedAt;
        const before = await redis.hlen(runsKey);
        await new Promise((resolve) => setTimeout(resolve, 1_000 + Math.random() * 2_000));
        if (await done()) {
          worker.child.kill('SIGTERM');
          await worker.exited;
          break;
        }
        worker.child.kill('SIGKILL');
        expect(await worker.exited).toBe('SIGKILL');
        kills++;
        const after = await redis.hlen(runsKey);
        if (after > before) killedMidRun++;
        if (process.env.CHAOS_VERBOSE)
          console.log(`${kind} ${pool}: ready in ${readyMs} ms, ${after - before} tasks, killed`);
        expect(Date.now() - started, 'progress under repeated kills').toBeLessThan(240_000);
      }
      // Pool children follow their killed parent out; none may keep running tasks.
      await pollUntil(() => processesTagged(queue).length === 0, 20_000, 'no orphan pool processes');

      // Drain: whatever was unacked at the last kill comes back; a worker stopped warmly (SIGTERM)
      // finishes and acks its tasks, so nothing pending after it exits means every redelivery was counted.
      for (;;) {
        if ((await pending()) === 0) break;
        const worker = spawnWorker();
        await worker.ready;
        await pollUntil(async () => (await pending()) === 0, 60_000, 'every delivery settled');
        worker.child.kill('SIGTERM');
        expect(await worker.exited).toBe('0');
      }
      const elapsedS = (Date.now() - started) / 1000;
      const runs = await tally(redis, runsKey, ids);
      recordScenario({
        id: `kill-worker-${pool}-${kind}`,
        scenario: `Worker SIGKILLed repeatedly, ${pool} pool (${kind === 'amqp' ? 'RabbitMQ' : 'Redis'})`,
        load: `${TASKS.toLocaleString('en-US')} acksLate tasks of ${taskMs} ms, -P ${pool} -c ${concurrency}${kind === 'redis' ? `, visibility timeout ${VISIBILITY_TIMEOUT_MS / 1000} s` : ''}`,
        faults: `worker SIGKILLed ${kills} times (each 1–3 s after it was ready), restarted each time`,
        sent: TASKS,
        completed: runs.completed,
        duplicates: runs.duplicates,
        lost: runs.lost,
        notes: `${killedMidRun} kills while tasks were completing; ${elapsedS.toFixed(0)} s in all; no orphan pool processes`,
      });
      expect(kills, 'the worker was killed at least twice while it worked').toBeGreaterThanOrEqual(2);
      expect(runs.unexpected).toBe(0);
      expect(runs.lost).toBe(0);
      expect(runs.completed).toBe(TASKS);
    });
  }
});
