import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { registerTasks } from './fixtures/thread-tasks.ts';
import { memoryApp, startWorker, stopAll, waitFor } from './helpers.ts';
import { poolSuite } from './pool-suite.ts';

const appModule = fileURLToPath(new URL('./fixtures/thread-tasks.ts', import.meta.url));

poolSuite(
  'processes',
  { maxMemoryPerChildKb: 250 * 1024 },
  {
    title: 'a child whose memory passed maxMemoryPerChild after a task is replaced; the task still succeeds',
    async run(_app, tasks) {
      const before = new Set(await pidsOf(tasks));
      expect(await (await tasks.hoard.delay(300)).get({ timeout: 10_000 })).toBe(true);
      // The next tasks run in a fresh child: the one that hoarded was retired after its task.
      await waitFor(async () => (await pidsOf(tasks)).some((pid) => !before.has(pid)), 10_000, 'a new child');
    },
  },
);

async function pidsOf(tasks: {
  pid: { delay(): Promise<{ get(o: { timeout: number }): Promise<unknown> }> };
}) {
  const results = await Promise.all([tasks.pid.delay(), tasks.pid.delay()]);
  return (await Promise.all(results.map((r) => r.get({ timeout: 10_000 })))) as number[];
}

// After the shared suite, on its own worker: a child is replaced after maxTasksPerChild tasks.
describe('processes pool: maxTasksPerChild', () => {
  afterAll(stopAll);
  it('replaces a child after maxTasksPerChild tasks', async () => {
    const app = memoryApp();
    const tasks = registerTasks(app);
    const worker = await startWorker(app, {
      pool: 'processes',
      appModule,
      concurrency: 1,
      maxTasksPerChild: 5,
    });
    const pids: number[] = [];
    for (let i = 0; i < 12; i++)
      pids.push((await (await tasks.pid.delay()).get({ timeout: 10_000 })) as number);
    const distinct = [...new Set(pids)];
    expect(distinct).toHaveLength(3); // 5 + 5 + 2
    expect(pids.slice(0, 5).every((p) => p === pids[0])).toBe(true);
    // `inspect stats` lists the live child's pid, not the worker's.
    // (The last result's store may still be counted as pending: the client can read it first.)
    expect(worker.poolStats()).toMatchObject({
      processes: [pids[11]],
      'max-tasks-per-child': 5,
      'lost-results': 0,
    });
  }, 25_000);
});
