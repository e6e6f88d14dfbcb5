/**
 * A processes-pool child dies mid-task (the task SIGKILLs its own process) while the worker lives on.
 * Celery's semantics, with acksLate: by default the task fails with WorkerLostError and its message is
 * acked (not run again); with `rejectOnWorkerLost` the message is requeued and the task runs again.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { Celeriac } from '../../packages/celeriac/src/app/celeriac.ts';
import { describeWith, SERVICES, uniqueName } from '../../packages/celeriac/test/helpers/services.ts';
import { pollUntil } from './chaos-helpers.ts';
import { recordScenario } from './report.ts';
import { processesTagged, startWorkerCli, writeTaskModule, type WorkerChild } from './worker-process.ts';

const EACH = 3;

await describeWith(['rabbitmq', 'redis'], 'a pool child lost mid-task (processes pool, acksLate)', () => {
  const dir = mkdtempSync(join(tmpdir(), 'celeriac-chaos-lost-'));
  const queue = uniqueName('chaos-worker-lost');
  const backend = `${SERVICES.redis.url}/0`;
  const redis = new Redis(SERVICES.redis.url, { maxRetriesPerRequest: 2 });
  let client: Celeriac;
  let worker: WorkerChild;

  beforeAll(async () => {
    const module = writeTaskModule(dir, { queue, runsKey: `${queue}:runs`, redisUrl: SERVICES.redis.url });
    client = new Celeriac({ broker: SERVICES.rabbitmq.url, backend, defaultQueue: queue });
    worker = startWorkerCli({
      module,
      broker: SERVICES.rabbitmq.url,
      backend,
      queue,
      pool: 'processes',
      concurrency: 2,
      tag: queue,
    });
    await worker.ready;
  });

  afterAll(async () => {
    worker?.child.kill('SIGKILL');
    await worker?.exited;
    await (await client.connection()).deleteQueue(queue).catch(() => undefined);
    await client.close();
    const keys = await redis.keys(`${queue}:*`);
    if (keys.length) await redis.del(...keys);
    redis.disconnect();
    rmSync(dir, { recursive: true, force: true });
  });

  it('fails with WorkerLostError by default, and runs again with rejectOnWorkerLost', async () => {
    const pidsBefore = processesTagged(queue);
    const failing = [];
    const requeued = [];
    for (let i = 0; i < EACH; i++) {
      failing.push(await client.sendTask('chaos.die_once', [`${queue}:lost:${i}`]));
      requeued.push(await client.sendTask('chaos.die_once_requeue', [`${queue}:requeue:${i}`]));
    }
    const lost = [];
    for (const r of failing) {
      const error = await r.get({ timeout: 60_000 }).then(
        () => undefined,
        (e: Error) => e,
      );
      expect(error?.name ?? '', `task ${r.id}`).toBe('WorkerLostError');
      lost.push(r);
    }
    for (const r of requeued) expect(await r.get({ timeout: 60_000 })).toBe('survived');

    // Runs, as the tasks counted them: 1 each by default (not retried), 2 each with rejectOnWorkerLost.
    for (let i = 0; i < EACH; i++) {
      expect(await redis.get(`${queue}:lost:${i}`)).toBe('1');
      expect(await redis.get(`${queue}:requeue:${i}`)).toBe('2');
    }
    // The worker itself survived its children and replaced them.
    expect(worker.child.exitCode).toBeNull();
    const pidsAfter = processesTagged(queue);
    expect(pidsAfter).toContain(worker.child.pid);
    expect(pidsAfter.filter((p) => !pidsBefore.includes(p)).length).toBeGreaterThan(0);
    await pollUntil(
      async () => (await (await client.connection()).queueLength(queue)) === 0,
      10_000,
      'empty queue',
    );

    recordScenario({
      id: 'worker-lost-processes',
      scenario: 'Pool child killed mid-task, processes pool (rejectOnWorkerLost)',
      load: `${EACH * 2} acksLate tasks that SIGKILL their own child on the first run, -P processes -c 2`,
      faults: `${EACH * 2} pool children killed mid-task`,
      sent: EACH * 2,
      completed: lost.length + requeued.length,
      duplicates: 0,
      lost: 0,
      notes: `default: FAILURE WorkerLostError, acked, ran once (${EACH}/${EACH}); rejectOnWorkerLost: requeued, ran twice, SUCCESS (${EACH}/${EACH})`,
    });
  });
});
