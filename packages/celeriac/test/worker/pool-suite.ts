// The same tests for the threads and processes pools (threads-pool.test.ts, processes-pool.test.ts).
import { fileURLToPath } from 'node:url';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Celeriac } from '../../src/app/celeriac.ts';
import type { Worker, WorkerOptions } from '../../src/worker/worker.ts';
import { registerTasks } from './fixtures/thread-tasks.ts';
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
      expect(await (await tasks.add.delay(2, 3)).get({ timeout: 5000 })).toBe(5);
      const who = await tasks.whoami.delay();
      expect(await who.get({ timeout: 5000 })).toEqual({ id: who.id, retries: 0 });
      const f = await tasks.fails.delay();
      await expect(f.get({ timeout: 5000 })).rejects.toThrow(/over quota/);
      expect((await f.meta()).result).toMatchObject({ exc_type: 'QuotaError', exc_message: ['over quota'] });
      expect(await (await tasks.retries.delay()).get({ timeout: 5000 })).toBe('retried 1');
    });

    it('a 2-second CPU-bound task does not block the main event loop', async () => {
      await (await tasks.add.delay(1, 1)).get({ timeout: 5000 }); // threads warm
      const histogram = monitorEventLoopDelay({ resolution: 10 });
      histogram.enable();
      let ticks = 0;
      const ticker = setInterval(() => ticks++, 50); // stands in for the heartbeat timer
      const r = await tasks.burn.delay(2000);
      expect(await r.get({ timeout: 8000 })).toBe(true);
      clearInterval(ticker);
      histogram.disable();
      const maxDelayMs = histogram.max / 1e6;
      console.log(
        `${pool} pool: main event loop max delay ${maxDelayMs.toFixed(1)} ms during a 2 s CPU task; ${ticks} ticks of 50 ms`,
      );
      expect(maxDelayMs).toBeLessThan(500); // a blocked loop would show ~2000 ms
      expect(ticks).toBeGreaterThan(15);
    });

    it('the hard time limit ends `while (true) {}` and the worker goes on', async () => {
      const started = Date.now();
      const r = await tasks.spin.applyAsync([], {}, { timeLimit: 0.3 });
      const meta = await waitForState(app, r.id, 'FAILURE', 5000);
      expect(meta.result).toMatchObject({
        exc_type: 'TimeLimitExceeded',
        exc_message: ['TimeLimitExceeded(0.3)'],
      });
      expect(Date.now() - started).toBeLessThan(3000);
      expect(await (await tasks.add.delay(20, 22)).get({ timeout: 5000 })).toBe(42);
    });

    it(`the soft time limit aborts the signal inside the ${unit}`, async () => {
      expect(await (await tasks.soft.delay()).get({ timeout: 5000 })).toBe(
        'cleaned up after SoftTimeLimitExceeded',
      );
    });

    it(`a crashed ${unit}: FAILURE WorkerLostError, or redelivery with acksLate + rejectOnWorkerLost`, async () => {
      const lost = await tasks.crashHard.delay();
      const meta = await waitForState(app, lost.id, 'FAILURE', 5000);
      expect(meta.result).toMatchObject({ exc_type: 'WorkerLostError', exc_module: 'celery.exceptions' });
      expect(await (await tasks.crash.delay()).get({ timeout: 5000 })).toBe('second delivery');
      expect(await (await tasks.add.delay(1, 2)).get({ timeout: 5000 })).toBe(3);
    });

    it(leakTest.title, () => leakTest.run(app, tasks), 20_000);

    it(`revoke with terminate ends the ${unit} running the task`, async () => {
      const r = await tasks.spin.delay();
      await waitFor(() => worker.active().length === 1, 5000, 'the spin task to start');
      worker.revoke([r.id], { terminate: true, signal: 'SIGKILL' });
      const meta = await waitForState(app, r.id, 'REVOKED', 5000);
      expect(meta.result).toMatchObject({ exc_type: 'TaskRevokedError', exc_message: ['terminated'] });
      expect(await (await tasks.add.delay(1, 1)).get({ timeout: 5000 })).toBe(2);
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
