/**
 * Issue 4's pool benchmark: a CPU-bound task on each Celeriac pool beside Python Celery prefork,
 * no-op throughput of the threads and processes pools (the async row is celeriac-worker's), and
 * the worker's resident memory while a deep queue waits (bounded by the prefetch window, since
 * the broker only hands over `concurrency × prefetchMultiplier` unacked messages).
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { deleteCeleryQueue, queueDepthOn } from '../lib/amqp.ts';
import { celeryMessage, newRunTag, taggedId } from '../lib/celery-message.ts';
import { measureWorkerThroughput } from '../lib/measure-worker.ts';
import { preloadQueue } from '../lib/preload.ts';
import { sleep } from '../lib/stats.ts';
import type { Figure, Scenario, ScenarioContext } from '../lib/types.ts';
import {
  startCeleriacWorker,
  startPythonWorker,
  waitForConsumer,
  type WorkerProcess,
} from '../lib/workers.ts';
import type { PoolWorkerConfig } from '../workers/pool-worker.ts';
import { HASH_ROUNDS } from '../workers/pool-tasks.ts';

const POOL_WORKER_ENTRY = fileURLToPath(new URL('../workers/pool-worker.ts', import.meta.url));
const CPU_CONCURRENCY = 2;
const NOOP_POOL_CONCURRENCY = 4;
const RSS_CONCURRENCY = 10;
const RSS_SAMPLE_MS = 5_000;

export const poolsScenario: Scenario = {
  name: 'pools',
  title: 'Worker pools: CPU-bound task (chained sha256), no-op per pool, RSS with a deep queue',
  async run(ctx) {
    const quick = ctx.settings.quick;
    const hashN = quick ? 200 : 400;
    const noopN = quick ? 5_000 : 20_000;
    // 1,000,000 was the brief; pre-loading runs at ~5,700 msg/s with confirms on the shared 2-core
    // box (~3 min for 1M), so the full run uses 500,000.
    const deepN = quick ? 200_000 : 500_000;
    const figures: Figure[] = [];
    const hash = { name: 'bench.hash', args: [HASH_ROUNDS] };

    figures.push(
      ...(await ctx.attempt('hash, python prefork', () =>
        measureWorkerThroughput(ctx, {
          id: 'python.pool.hash.prefork',
          label: `python worker, sha256 ×${HASH_ROUNDS}, prefork -c ${CPU_CONCURRENCY}`,
          n: hashN,
          withResults: false,
          task: hash,
          details: { pool: 'prefork', concurrency: CPU_CONCURRENCY, prefetchMultiplier: 4 },
          start: (queue) =>
            startPythonWorker({
              broker: ctx.settings.amqpUrl,
              backend: undefined,
              queue,
              concurrency: CPU_CONCURRENCY,
              hostname: `${queue}@bench`,
              app: 'bench_pools',
            }),
        }),
      )),
    );
    for (const pool of ['threads', 'processes', 'async'] as const) {
      figures.push(
        ...(await ctx.attempt(`hash, ${pool}`, () =>
          measureWorkerThroughput(ctx, {
            id: `celeriac.pool.hash.${pool}`,
            label: `celeriac worker, sha256 ×${HASH_ROUNDS}, -P ${pool} -c ${CPU_CONCURRENCY}`,
            n: hashN,
            withResults: false,
            task: hash,
            details: { pool, concurrency: CPU_CONCURRENCY, prefetchMultiplier: 4 },
            start: (queue) => startPoolWorker(ctx, queue, pool, CPU_CONCURRENCY),
          }),
        )),
      );
    }
    for (const pool of ['threads', 'processes'] as const) {
      // Sized to the machine, not to the async pool's 50: each slot is a thread or a process.
      const concurrency = NOOP_POOL_CONCURRENCY;
      figures.push(
        ...(await ctx.attempt(`no-op, ${pool}`, () =>
          measureWorkerThroughput(ctx, {
            id: `celeriac.pool.noop.${pool}`,
            label: `celeriac worker, no-op, results ignored, -P ${pool} -c ${concurrency}`,
            n: noopN,
            withResults: false,
            details: { pool, concurrency, prefetchMultiplier: ctx.settings.prefetchMultiplier },
            start: (queue) => startPoolWorker(ctx, queue, pool, concurrency),
          }),
        )),
      );
    }
    figures.push(...(await ctx.attempt('RSS with a deep queue', () => measureDeepQueueRss(ctx, deepN))));
    return figures;
  },
};

function startPoolWorker(
  ctx: ScenarioContext,
  queue: string,
  pool: PoolWorkerConfig['pool'],
  concurrency: number,
): WorkerProcess {
  const config: PoolWorkerConfig = {
    broker: ctx.settings.amqpUrl,
    backend: undefined,
    queue,
    concurrency,
    prefetchMultiplier: ctx.settings.prefetchMultiplier,
    hostname: `${queue}@bench`,
    pool,
  };
  return startCeleriacWorker(config, ctx.settings.profileDir, POOL_WORKER_ENTRY);
}

/**
 * Fills a queue with `n` one-second tasks, starts an async-pool worker (-c 10, prefetch 40) and
 * samples its VmRSS for 5 s: with the prefetch window in force it holds ~40 messages, whatever
 * the depth of the queue, so its memory stays that of an idle worker.
 */
async function measureDeepQueueRss(ctx: ScenarioContext, n: number): Promise<Figure> {
  const queue = ctx.uniqueName('bench-pool-rss');
  const runTag = newRunTag();
  const prefetchMultiplier = 4;
  let worker: WorkerProcess | undefined;
  try {
    await preloadQueue(ctx, queue, n, () => celeryMessage('bench.sleep', taggedId(runTag)));
    ctx.progress.update('starting the async worker on the deep queue');
    const config: PoolWorkerConfig = {
      broker: ctx.settings.amqpUrl,
      backend: undefined,
      queue,
      concurrency: RSS_CONCURRENCY,
      prefetchMultiplier,
      hostname: `${queue}@bench`,
      pool: 'async',
    };
    worker = startCeleriacWorker(config, undefined, POOL_WORKER_ENTRY);
    const ch = await ctx.conn.createChannel();
    try {
      await waitForConsumer(ch, queue, worker, 30_000);
    } finally {
      await ch.close().catch(() => {});
    }
    const samples: number[] = [];
    const until = Date.now() + RSS_SAMPLE_MS;
    while (Date.now() < until) {
      const kb = vmRssKb(worker.pid);
      if (kb === undefined)
        throw new Error(`${worker.label}: no VmRSS in /proc/${worker.pid}/status (exited?)`);
      samples.push(kb);
      ctx.progress.update(`${worker.label}: RSS ${(kb / 1024).toFixed(0)} MB`);
      await sleep(100);
    }
    const { ready } = await queueDepthOn(ctx.conn, queue);
    const maxMb = Math.max(...samples) / 1024;
    return {
      id: 'celeriac.pool.rss.deep-queue',
      label: `celeriac worker RSS (max over ${RSS_SAMPLE_MS / 1000} s), ${n.toLocaleString('en-US')} messages waiting, -P async -c ${RSS_CONCURRENCY}`,
      kind: 'memory',
      value: maxMb,
      n,
      details: {
        pool: 'async',
        concurrency: RSS_CONCURRENCY,
        prefetch: RSS_CONCURRENCY * prefetchMultiplier,
        firstMb: Math.round((samples[0] ?? 0) / 1024),
        samples: samples.length,
        // The broker still holds all but the prefetch window and the ~50 tasks done: the worker
        // never sees the rest, which is why its memory does not follow the queue's depth.
        readyAfterSampling: ready,
      },
    };
  } finally {
    await worker?.stop();
    await purgeAndDelete(ctx, queue);
  }
}

async function purgeAndDelete(ctx: ScenarioContext, queue: string): Promise<void> {
  const ch = await ctx.conn.createChannel();
  ch.on('error', () => {});
  try {
    await ch.purgeQueue(queue);
    await ch.close();
  } catch {
    // The queue may not exist if the pre-load failed early.
  }
  await deleteCeleryQueue(ctx.conn, queue);
}

function vmRssKb(pid: number | undefined): number | undefined {
  if (pid === undefined) return undefined;
  try {
    const match = /^VmRSS:\s+(\d+)\s+kB/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return match ? Number(match[1]) : undefined;
  } catch {
    return undefined;
  }
}
