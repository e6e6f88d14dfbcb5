import { expect, it } from 'vitest';
import { memoryApp, startWorker, waitForState } from './helpers.ts';
import { poolSuite } from './pool-suite.ts';

poolSuite(
  'threads',
  { maxMemoryPerChildKb: 64 * 1024 },
  {
    title:
      'a task leaking past maxMemoryPerChild (the thread heap limit) fails WorkerLostError; the thread is replaced',
    async run(app, tasks) {
      const r = await tasks.leak.delay();
      const meta = await waitForState(app, r.id, 'FAILURE', 15_000);
      expect(meta.result).toMatchObject({ exc_type: 'WorkerLostError' });
      expect(await (await tasks.add.delay(2, 2)).get({ timeout: 5000 })).toBe(4);
    },
  },
);

it('rejects a pool without appModule with a clear error', async () => {
  const app = memoryApp();
  await expect(startWorker(app, { pool: 'threads' })).rejects.toThrow(/threads pool needs appModule/);
  await expect(startWorker(app, { pool: 'processes' })).rejects.toThrow(/processes pool needs appModule/);
  await expect(startWorker(app, { pool: 'fibers' as never })).rejects.toThrow(
    /must be one of async, threads, processes/,
  );
});
