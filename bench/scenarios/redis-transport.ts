/**
 * Redis as the broker: Celeriac beside Python Celery 5.2 (kombu's Redis transport) and BullMQ on the
 * same Redis, for the same no-op workload with results ignored.
 * - publish: N tasks (jobs) sent in batches of 1000 concurrent sends (BullMQ: `addBulk` of 1000).
 * - worker: N pre-loaded no-op tasks; the list is sampled every 10 ms, the clock starts at the first
 *   sample below N and stops when it is empty (BullMQ: its wait + active counts), as the AMQP
 *   drain figures are measured. Celeriac and Python run as child processes; BullMQ's Worker runs in a
 *   child-free process of its own too (this one), concurrency 50 like Celeriac's.
 */
import { performance } from 'node:perf_hooks';
import { Queue, Worker as BullWorker } from 'bullmq';
import { Redis } from 'ioredis';
import { Celeriac } from '../../packages/celeriac/src/index.ts';
import { processTreeCpuMs } from '../lib/proc-cpu.ts';
import { ratePerSecond, sleep } from '../lib/stats.ts';
import type { Figure, Scenario, ScenarioContext } from '../lib/types.ts';
import {
  startCeleriacWorker,
  startPythonWorker,
  WorkerFailedError,
  type WorkerProcess,
} from '../lib/workers.ts';
import { PYTHON_CONCURRENCY } from './python-worker.ts';

/** The Redis db the broker rows use (results use the db in BENCH_REDIS_URL). */
const BROKER_DB = 13;
const BATCH = 1000;
const SAMPLE_EVERY_MS = 10;

function brokerUrl(ctx: ScenarioContext): string {
  return ctx.settings.redisUrl.replace(/\/\d*$/, '') + `/${BROKER_DB}`;
}

export const redisTransportScenario: Scenario = {
  name: 'redis',
  title: 'Redis broker: Celeriac vs Python Celery vs BullMQ, no-op, results ignored',
  async run(ctx) {
    const n = ctx.settings.workerN;
    const pythonN = ctx.settings.pythonWorkerN;
    const figures = [
      ...(await ctx.attempt('celeriac on redis', () => celeriacRows(ctx, n))),
      ...(await ctx.attempt('python on redis', () => pythonRow(ctx, pythonN))),
      ...(await ctx.attempt('bullmq', () => bullmqRows(ctx, n))),
    ];
    return withRatios(figures);
  },
};

/** The table's ratio columns compare with AMQP references; these rows carry their own (target: >= 1x BullMQ). */
function withRatios(figures: Figure[]): Figure[] {
  const value = (id: string) => figures.find((f) => f.id === id)?.value;
  const refs: Record<string, { bullmq: string; python?: string }> = {
    'celeriac.publish.redis': { bullmq: 'bullmq.publish' },
    'celeriac.worker.redis-broker': { bullmq: 'bullmq.worker', python: 'python.worker.redis-broker' },
  };
  return figures.map((f) => {
    const ref = refs[f.id];
    if (!ref) return f;
    const round = (x: number | undefined) =>
      x === undefined ? 'n/a' : Math.round((f.value / x) * 100) / 100;
    return {
      ...f,
      details: {
        ...f.details,
        vsBullmq: round(value(ref.bullmq)),
        ...(ref.python ? { vsPython: round(value(ref.python)) } : {}),
      },
    };
  });
}

/** Sends N `bench.noop` tasks through the Celeriac Redis transport; returns the publish rate. */
async function preload(ctx: ScenarioContext, queue: string, n: number): Promise<Figure> {
  const app = new Celeriac({ broker: brokerUrl(ctx), defaultQueue: queue });
  try {
    await app.sendTask('bench.noop', [], {}, { ignoreResult: true }); // connect and declare first
    const transport = await app.connection();
    await transport.purge(queue);
    const started = performance.now();
    for (let sent = 0; sent < n; sent += BATCH) {
      const size = Math.min(BATCH, n - sent);
      await Promise.all(
        Array.from({ length: size }, () => app.sendTask('bench.noop', [], {}, { ignoreResult: true })),
      );
      ctx.progress.update(`celeriac publish on redis: ${sent + size}/${n}`);
    }
    const elapsedMs = performance.now() - started;
    return {
      id: 'celeriac.publish.redis',
      label: 'celeriac publish, Redis broker',
      kind: 'rate',
      value: ratePerSecond(n, elapsedMs),
      n,
      details: { batch: BATCH, elapsedMs: Math.round(elapsedMs) },
    };
  } finally {
    await app.close();
  }
}

async function celeriacRows(ctx: ScenarioContext, n: number): Promise<Figure[]> {
  const queue = ctx.uniqueName('bench-redis-celeriac');
  try {
    const publish = await preload(ctx, queue, n);
    const worker = startCeleriacWorker({
      broker: brokerUrl(ctx),
      backend: undefined,
      queue,
      concurrency: ctx.settings.celeriacConcurrency,
      prefetchMultiplier: ctx.settings.prefetchMultiplier,
      hostname: `${queue}@bench`,
    });
    const drained = await drainRow(ctx, worker, queue, n, {
      id: 'celeriac.worker.redis-broker',
      label: 'celeriac worker, no-op, Redis broker, results ignored',
      details: { pool: 'async', concurrency: ctx.settings.celeriacConcurrency },
    });
    return [publish, drained];
  } finally {
    await cleanup(ctx, queue);
  }
}

async function pythonRow(ctx: ScenarioContext, n: number): Promise<Figure[]> {
  const queue = ctx.uniqueName('bench-redis-python');
  try {
    await preload(ctx, queue, n);
    const worker = startPythonWorker({
      broker: brokerUrl(ctx),
      backend: undefined,
      queue,
      concurrency: PYTHON_CONCURRENCY,
      hostname: `${queue}@bench`,
    });
    return [
      await drainRow(ctx, worker, queue, n, {
        id: 'python.worker.redis-broker',
        label: 'python worker, no-op, Redis broker, results ignored',
        details: { pool: 'prefork', concurrency: PYTHON_CONCURRENCY },
      }),
    ];
  } finally {
    await cleanup(ctx, queue);
  }
}

/** Starts the clock at the first sample below N, stops it at an empty list; then stops the worker. */
async function drainRow(
  ctx: ScenarioContext,
  worker: WorkerProcess,
  queue: string,
  n: number,
  row: { id: string; label: string; details: Record<string, string | number> },
): Promise<Figure> {
  const redis = new Redis(brokerUrl(ctx));
  try {
    let exited = false;
    void worker.exited.then(() => (exited = true));
    const deadline = Date.now() + 30_000 + (n / 200) * 1000;
    let startedAt: number | undefined;
    let startedWith = 0;
    let cpuAtStart = 0;
    for (;;) {
      if (exited) throw new WorkerFailedError(worker, 'exited before the queue drained');
      if (Date.now() > deadline) throw new WorkerFailedError(worker, `did not drain ${queue} in time`);
      const left = await redis.llen(queue);
      const now = performance.now();
      if (startedAt === undefined && left < n) {
        startedAt = now;
        startedWith = left;
        cpuAtStart = processTreeCpuMs(worker.pid);
      }
      if (startedAt !== undefined && left === 0) {
        const cpuMs = processTreeCpuMs(worker.pid) - cpuAtStart;
        const elapsedMs = now - startedAt;
        return {
          id: row.id,
          label: row.label,
          kind: 'rate',
          value: ratePerSecond(startedWith, elapsedMs),
          n,
          details: {
            ...row.details,
            method: 'list drain',
            elapsedMs: Math.round(elapsedMs),
            cpuUsPerTask: Math.round((cpuMs * 1000) / Math.max(1, startedWith)),
          },
        };
      }
      ctx.progress.update(`${worker.label}: ${n - left}/${n}`);
      await sleep(SAMPLE_EVERY_MS);
    }
  } finally {
    redis.disconnect();
    await worker.stop();
  }
}

async function bullmqRows(ctx: ScenarioContext, n: number): Promise<Figure[]> {
  const name = ctx.uniqueName('bench-bullmq');
  const connection = { url: brokerUrl(ctx) };
  const queue = new Queue(name, { connection: new Redis(brokerUrl(ctx), { maxRetriesPerRequest: null }) });
  let worker: BullWorker | undefined;
  try {
    const jobOptions = { removeOnComplete: true, removeOnFail: true };
    let started = performance.now();
    for (let sent = 0; sent < n; sent += BATCH) {
      const size = Math.min(BATCH, n - sent);
      await queue.addBulk(Array.from({ length: size }, () => ({ name: 'noop', data: {}, opts: jobOptions })));
      ctx.progress.update(`bullmq addBulk: ${sent + size}/${n}`);
    }
    const publishMs = performance.now() - started;
    const publish: Figure = {
      id: 'bullmq.publish',
      label: 'bullmq addBulk, same Redis',
      kind: 'rate',
      value: ratePerSecond(n, publishMs),
      n,
      details: { batch: BATCH, elapsedMs: Math.round(publishMs) },
    };
    const cpuStart = process.cpuUsage();
    worker = new BullWorker(name, async () => undefined, {
      connection: { ...connection, maxRetriesPerRequest: null },
      concurrency: ctx.settings.celeriacConcurrency,
    });
    let startedWith = 0;
    started = 0;
    const deadline = Date.now() + 30_000 + (n / 200) * 1000;
    for (;;) {
      if (Date.now() > deadline) throw new Error('bullmq worker did not drain in time');
      const counts = await queue.getJobCounts('wait', 'active');
      const left = (counts.wait ?? 0) + (counts.active ?? 0);
      const now = performance.now();
      if (started === 0 && left < n) {
        started = now;
        startedWith = left;
      }
      if (started !== 0 && left === 0) {
        const cpu = process.cpuUsage(cpuStart);
        return [
          publish,
          {
            id: 'bullmq.worker',
            label: 'bullmq worker, no-op, same Redis',
            kind: 'rate',
            value: ratePerSecond(startedWith, now - started),
            n,
            details: {
              concurrency: ctx.settings.celeriacConcurrency,
              method: 'wait+active drain',
              elapsedMs: Math.round(now - started),
              // In-process: includes the harness's sampling, a small share.
              cpuUsPerTask: Math.round((cpu.user + cpu.system) / Math.max(1, startedWith)),
            },
          },
        ];
      }
      ctx.progress.update(`bullmq worker: ${n - left}/${n}`);
      await sleep(SAMPLE_EVERY_MS);
    }
  } finally {
    await worker?.close();
    await queue.obliterate({ force: true }).catch(() => undefined);
    await queue.close();
  }
}

async function cleanup(ctx: ScenarioContext, queue: string): Promise<void> {
  const redis = new Redis(brokerUrl(ctx));
  try {
    await redis.del(queue, `_kombu.binding.${queue}`);
    await redis.srem(
      '_kombu.binding.celery',
      ...(await redis.smembers('_kombu.binding.celery')).filter((m) => m.includes(queue)),
    );
  } catch {
    // best effort
  } finally {
    redis.disconnect();
  }
}
