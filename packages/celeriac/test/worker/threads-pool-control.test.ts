// The threads pool beyond the shared suite: recycling (maxTasksPerChild, maxMemoryPerChild),
// pool_grow / pool_shrink, --autoscale, and the thread ids `inspect stats` lists.
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { ControlClient } from '../../src/control/control-client.ts';
import { startMailbox } from '../../src/control/mailbox.ts';
import { silentLogger } from '../../src/util/logger.ts';
import type { Worker } from '../../src/worker/worker.ts';
import { registerTasks } from './fixtures/thread-tasks.ts';
import { memoryApp, startWorker, stopAll, waitFor } from './helpers.ts';

const appModule = fileURLToPath(new URL('./fixtures/thread-tasks.ts', import.meta.url));
type Tasks = ReturnType<typeof registerTasks>;

async function threadIdOf(tasks: Tasks): Promise<number> {
  return (await (await tasks.threadId.delay()).get({ timeout: 10_000 })) as number;
}

/** `inspect stats` over the memory broker's pidbox, as a monitor or Flower reads it. */
async function stats(worker: Worker): Promise<{ pool: Record<string, unknown> }> {
  const mailbox = await startMailbox(worker, await worker.app.connection(), silentLogger);
  const client = new ControlClient(worker.app);
  try {
    const replies = await client.inspect('stats', {}, { destination: [worker.hostname], timeoutMs: 2000 });
    return replies[worker.hostname] as { pool: Record<string, unknown> };
  } finally {
    await client.close();
    await mailbox.stop();
  }
}

describe('threads pool: recycling, resizing, autoscale', () => {
  afterAll(stopAll);

  it('replaces a thread after maxTasksPerChild tasks; stats lists the live thread ids', async () => {
    const app = memoryApp();
    const tasks = registerTasks(app);
    const worker = await startWorker(app, {
      pool: 'threads',
      appModule,
      concurrency: 1,
      maxTasksPerChild: 5,
    });
    const ids: number[] = [];
    for (let i = 0; i < 12; i++) ids.push(await threadIdOf(tasks));
    expect(new Set(ids).size).toBe(3); // 5 + 5 + 2
    expect(ids.slice(0, 5).every((id) => id === ids[0])).toBe(true);
    expect(ids[5]).not.toBe(ids[4]);
    const { pool } = await stats(worker);
    expect(pool).toMatchObject({
      'max-concurrency': 1,
      'max-tasks-per-child': 5,
      implementation: 'celeriac:threads',
      processes: [ids[11]],
    });
  }, 25_000);

  it('a thread whose memory passed maxMemoryPerChild is replaced after its task, which succeeds', async () => {
    const app = memoryApp();
    const tasks = registerTasks(app);
    await startWorker(app, { pool: 'threads', appModule, concurrency: 1, maxMemoryPerChildKb: 32 * 1024 });
    const before = await threadIdOf(tasks);
    expect(await threadIdOf(tasks)).toBe(before); // a small task does not trip it
    // 48 MiB kept alive in the thread (a leak that outlives the task): over the limit, under the heap cap.
    expect(await (await tasks.hoard.delay(48)).get({ timeout: 10_000 })).toBe(true);
    const after = await threadIdOf(tasks);
    expect(after).not.toBe(before);
  }, 25_000);

  it('pool_grow and pool_shrink add and remove threads', async () => {
    const app = memoryApp();
    const tasks = registerTasks(app);
    const worker = await startWorker(app, { pool: 'threads', appModule, concurrency: 1 });
    const [first] = worker.poolStats().processes;
    expect(worker.resizePool(1)).toBe(2);
    await waitFor(() => worker.poolStats().processes.length === 2, 10_000, 'a second thread');
    // Two 600 ms CPU tasks now run side by side, in two threads.
    const [a, b] = await Promise.all([tasks.burnId.delay(600), tasks.burnId.delay(600)]);
    const ran = await Promise.all([a!.get({ timeout: 10_000 }), b!.get({ timeout: 10_000 })]);
    expect(new Set(ran).size).toBe(2);
    expect(worker.resizePool(-1)).toBe(1);
    await waitFor(() => worker.poolStats().processes.length === 1, 5000, 'the pool to shrink');
    expect(worker.concurrency()).toBe(1);
    expect(await (await tasks.add.delay(2, 2)).get({ timeout: 5000 })).toBe(4);
    expect(first).toBeGreaterThan(0);
  }, 25_000);

  it('--autoscale grows the threads while tasks wait; new bounds shrink them', async () => {
    const app = memoryApp();
    const tasks = registerTasks(app);
    // No idle shrink during the test (the keepalive path is the async pool's test; the autoscaler is shared).
    const worker = await startWorker(app, {
      pool: 'threads',
      appModule,
      autoscale: { max: 3, min: 1, keepaliveMs: 60_000 },
    });
    expect(worker.concurrency()).toBe(1);
    // Enough work that tasks are still waiting at the autoscaler's 1 s ticks even on a busy box.
    const results = await Promise.all([1, 2, 3, 4, 5, 6].map(() => tasks.burnId.delay(1500)));
    await waitFor(() => worker.concurrency() === 3, 15_000, 'the autoscaler to grow the pool');
    // Each new thread loads tsx and the module before it takes a task: seconds on a busy box.
    await waitFor(() => worker.poolStats().processes.length === 3, 20_000, 'three threads');
    await Promise.all(results.map((r) => r.get({ timeout: 20_000 })));
    worker.autoscaler!.update(1, 1); // `celery control autoscale 1 1`
    await waitFor(() => worker.concurrency() === 1, 5000, 'the pool to shrink to the new max');
    await waitFor(() => worker.poolStats().processes.length === 1, 5000, 'the extra threads to end');
    expect(await (await tasks.add.delay(1, 1)).get({ timeout: 10_000 })).toBe(2);
  }, 45_000);
});
