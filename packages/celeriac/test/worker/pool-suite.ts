// The same tests for the threads and processes pools (threads-pool.test.ts, processes-pool.test.ts).
import { fileURLToPath } from 'node:url';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Celeriac } from '../../src/app/celeriac.ts';
import type { Worker, WorkerOptions } from '../../src/worker/worker.ts';
import { registerTasks } from './fixtures/thread-tasks.ts';
import { attachEvents } from '../../src/events/worker-events.ts';
import { silentLogger } from '../../src/util/logger.ts';
import { EventLog } from '../events/helpers.ts';
import { captureLogger, memoryApp, startWorker, stopAll, waitFor, waitForState } from './helpers.ts';

export interface LeakTest {
  title: string;
  run(app: Celeriac, tasks: ReturnType<typeof registerTasks>): Promise<void>;
}

const appModule = fileURLToPath(new URL('./fixtures/thread-tasks.ts', import.meta.url));

/**
 * One worker for the whole file: each thread loads tsx and the task module (~1 s of CPU), so a
 * pool per test would take most of the time budget. The tests kill threads on purpose; the pool
 * replacing them is part of what they check.
 */
export function poolSuite(pool: 'threads' | 'processes', extra: WorkerOptions, leakTest: LeakTest): void {
  let app: Celeriac;
  let tasks: ReturnType<typeof registerTasks>;
  let worker: Worker;
  const unit = pool === 'threads' ? 'thread' : 'process';
  afterAll(stopAll);
  beforeAll(async () => {
    app = memoryApp();
    tasks = registerTasks(app);
    worker = await startWorker(app, { pool, appModule, concurrency: 2, ...extra });
  }, 20_000);

  describe(`${pool} pool`, () => {
    it(`runs tasks in ${pool}: values by structured clone, bound context, errors keep their name, retry works`, async () => {
      expect(await (await tasks.add.delay(2, 3)).get({ timeout: 15_000 })).toBe(5);
      const who = await tasks.whoami.delay();
      expect(await who.get({ timeout: 15_000 })).toEqual({ id: who.id, retries: 0 });
      const f = await tasks.fails.delay();
      await expect(f.get({ timeout: 15_000 })).rejects.toThrow(/over quota/);
      expect((await f.meta()).result).toMatchObject({ exc_type: 'QuotaError', exc_message: ['over quota'] });
      expect(await (await tasks.retries.delay()).get({ timeout: 15_000 })).toBe('retried 1');
    });

    it('a 2-second CPU-bound task does not delay the worker heartbeats or block the event loop', async () => {
      await (await tasks.add.delay(1, 1)).get({ timeout: 15_000 }); // threads warm
      // Real worker-heartbeat events, 4 a second so a stall shows; read back from the broker.
      // The monitor's own app on the same broker: stopping a receiver closes its app's connection.
      const monitorApp = new Celeriac({ broker: app.conf.broker });
      const log = new EventLog(monitorApp, worker.hostname);
      await log.receiver.start();
      const events = await attachEvents(worker, { heartbeatIntervalMs: 250, logger: silentLogger });
      const histogram = monitorEventLoopDelay({ resolution: 10 });
      try {
        await log.wait('worker-heartbeat', undefined, 1);
        histogram.enable();
        const r = await tasks.burn.delay(2000);
        await waitFor(() => worker.active().length === 1, 5000, 'the burn task to start');
        const startedAt = Date.now() / 1000;
        expect(await r.get({ timeout: 8000 })).toBe(true);
        const endedAt = Date.now() / 1000;
        histogram.disable();
        const beats = log
          .of('worker-heartbeat')
          .map((e) => e.timestamp)
          .filter((t) => t >= startedAt - 0.5 && t <= endedAt + 0.5);
        const gaps = beats.slice(1).map((t, i) => t - beats[i]!);
        const maxDelayMs = histogram.max / 1e6;
        console.log(
          `${pool} pool, 2 s CPU task: ${beats.length} heartbeats, max gap ${Math.max(...gaps).toFixed(2)} s, event loop max delay ${maxDelayMs.toFixed(1)} ms`,
        );
        // A blocked loop would send none for 2 s; this box is shared, so allow 1 s of jitter.
        expect(beats.length).toBeGreaterThanOrEqual(4);
        expect(Math.max(...gaps)).toBeLessThan(1);
        expect(maxDelayMs).toBeLessThan(500);
      } finally {
        histogram.disable();
        await events.stop();
        await log.receiver.stop();
        await monitorApp.close();
      }
    });

    it('the hard time limit ends `while (true) {}` and the worker goes on', async () => {
      const started = Date.now();
      const r = await tasks.spin.applyAsync([], {}, { timeLimit: 0.3 });
      const meta = await waitForState(app, r.id, 'FAILURE', 15_000);
      expect(meta.result).toMatchObject({
        exc_type: 'TimeLimitExceeded',
        exc_message: ['TimeLimitExceeded(0.3)'],
      });
      expect(Date.now() - started).toBeLessThan(10_000);
      expect(await (await tasks.add.delay(20, 22)).get({ timeout: 15_000 })).toBe(42);
    });

    it(`the soft time limit aborts the signal inside the ${unit}`, async () => {
      expect(await (await tasks.soft.delay()).get({ timeout: 15_000 })).toBe(
        'cleaned up after SoftTimeLimitExceeded',
      );
    });

    it(`a crashed ${unit}: FAILURE WorkerLostError, or redelivery with acksLate + rejectOnWorkerLost`, async () => {
      const lost = await tasks.crashHard.delay();
      const meta = await waitForState(app, lost.id, 'FAILURE', 15_000);
      expect(meta.result).toMatchObject({ exc_type: 'WorkerLostError', exc_module: 'celery.exceptions' });
      expect(await (await tasks.crash.delay()).get({ timeout: 15_000 })).toBe('second delivery');
      expect(await (await tasks.add.delay(1, 2)).get({ timeout: 15_000 })).toBe(3);
    });

    it(leakTest.title, () => leakTest.run(app, tasks), 20_000);

    it(`revoke with terminate ends the ${unit} running the task`, async () => {
      const r = await tasks.spin.delay();
      await waitFor(() => worker.active().length === 1, 5000, 'the spin task to start');
      worker.revoke([r.id], { terminate: true, signal: 'SIGKILL' });
      const meta = await waitForState(app, r.id, 'REVOKED', 15_000);
      expect(meta.result).toMatchObject({ exc_type: 'TaskRevokedError', exc_message: ['terminated'] });
      expect(await (await tasks.add.delay(1, 1)).get({ timeout: 15_000 })).toBe(2);
    });

    it('refuses to start when the task module throws on import, saying so', async () => {
      const { logger } = captureLogger();
      const app = memoryApp();
      registerTasks(app);
      const broken = fileURLToPath(new URL('./fixtures/thread-broken.ts', import.meta.url));
      await expect(startWorker(app, { pool, appModule: broken, concurrency: 1, logger })).rejects.toThrow(
        /thread-broken\.ts failed to load in a pool thread or process: broken on purpose/,
      );
    });
  });
}
