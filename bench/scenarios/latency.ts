import { performance } from 'node:perf_hooks';
import { Celeriac } from '../../packages/celeriac/src/index.ts';
import { declareCeleryQueue, deleteCeleryQueue } from '../lib/amqp.ts';
import { paced } from '../lib/lanes.ts';
import { formatCount } from '../lib/progress.ts';
import { deleteResults } from '../lib/results.ts';
import { cpuMeter, percentile, sleep } from '../lib/stats.ts';
import { processTreeCpuMs } from '../lib/proc-cpu.ts';
import type { Figure, Scenario, ScenarioContext } from '../lib/types.ts';
import {
  startCeleriacWorker,
  startPythonWorker,
  waitForConsumer,
  type WorkerProcess,
} from '../lib/workers.ts';
import { PYTHON_CONCURRENCY } from './python-worker.ts';

const GET_TIMEOUT_MS = 15_000;

/**
 * delay() → get() at a steady rate with Redis results, for a Celeriac worker and for the Python
 * worker (the client is Celeriac in both, so only the worker differs). get() is woken by the
 * result's PUBLISH.
 */
export const latencyScenario: Scenario = {
  name: 'latency',
  title: 'latency delay() → get() at a steady rate, Redis results, Celeriac worker',
  run: (ctx) => latency(ctx, 'celeriac'),
};

export const pythonLatencyScenario: Scenario = {
  name: 'python-latency',
  title: 'latency delay() → get() at a steady rate, Redis results, Python worker',
  run: (ctx) => latency(ctx, 'python'),
};

async function latency(ctx: ScenarioContext, side: 'celeriac' | 'python'): Promise<Figure[]> {
  const {
    amqpUrl,
    redisUrl,
    latencyRate: rate,
    latencyDurationMs,
    celeriacConcurrency,
    prefetchMultiplier,
  } = ctx.settings;
  const queue = ctx.uniqueName(`bench-latency-${side}`);
  const count = Math.round((rate * latencyDurationMs) / 1000);
  const warmup = Math.min(500, count);
  const app = new Celeriac({ broker: amqpUrl, backend: redisUrl, defaultQueue: queue });
  const noop = app.task('bench.noop_result', () => undefined);
  const ids: string[] = [];
  let worker: WorkerProcess | undefined;
  try {
    await declareCeleryQueue(ctx.conn, queue);
    worker =
      side === 'celeriac'
        ? startCeleriacWorker(
            {
              broker: amqpUrl,
              backend: redisUrl,
              queue,
              concurrency: celeriacConcurrency,
              prefetchMultiplier,
              hostname: `${queue}@bench`,
            },
            ctx.settings.profileDir,
          )
        : startPythonWorker({
            broker: amqpUrl,
            backend: redisUrl,
            queue,
            concurrency: PYTHON_CONCURRENCY,
            hostname: `${queue}@bench`,
          });
    const ch = await ctx.conn.createChannel();
    await waitForConsumer(ch, queue, worker, 30_000).finally(() => ch.close());

    const latencies: number[] = [];
    // delay() alone (publish confirmed, result subscribed): tells the client's share from the worker's.
    const confirmed: number[] = [];
    let errors = 0;
    let firstError: unknown;
    let settled = 0;
    const fire = (record: boolean) => () => {
      const t0 = performance.now();
      noop
        .delay()
        .then((result) => {
          if (record) confirmed.push(performance.now() - t0);
          ids.push(result.id);
          return result.get({ timeout: GET_TIMEOUT_MS });
        })
        .then(
          () => record && latencies.push(performance.now() - t0),
          (error: unknown) => {
            // A task that never came back counts as infinitely late, so p99 cannot hide it.
            if (record) latencies.push(Number.POSITIVE_INFINITY);
            errors++;
            firstError ??= error;
          },
        )
        .finally(() => settled++);
    };
    ctx.progress.update(`${side}: warm-up ${warmup} tasks`);
    await paced(rate, warmup, fire(false));
    await waitFor(() => settled === warmup, GET_TIMEOUT_MS + 5000);
    settled = 0;
    const clientCpu = cpuMeter();
    const workerCpuAtStart = processTreeCpuMs(worker.pid);
    const started = performance.now();
    const progress = setInterval(
      () =>
        ctx.progress.update(`${side}: ${formatCount(settled)}/${formatCount(count)} results at ${rate}/s`),
      200,
    );
    await paced(rate, count, fire(true));
    const offeredMs = performance.now() - started;
    await waitFor(() => settled === count, GET_TIMEOUT_MS + 5000).finally(() => clearInterval(progress));
    const clientCpuUsPerTask = clientCpu(count);
    const workerCpuUsPerTask = Math.round(((processTreeCpuMs(worker.pid) - workerCpuAtStart) * 1000) / count);
    if (errors >= count / 2) {
      throw new Error(`${side} latency: ${errors} of ${count} tasks failed; first: ${String(firstError)}`);
    }
    latencies.sort((a, b) => a - b);
    confirmed.sort((a, b) => a - b);
    const details = {
      offeredRate: Math.round((count * 1000) / offeredMs),
      p90: round(percentile(latencies, 90)),
      delayConfirmedP50: round(percentile(confirmed, 50)),
      delayConfirmedP99: round(percentile(confirmed, 99)),
      max: round(latencies[latencies.length - 1] ?? Number.NaN),
      mean: round(latencies.reduce((a, b) => a + b, 0) / latencies.length),
      failed: errors,
      clientCpuUsPerTask,
      workerCpuUsPerTask,
      ...(firstError ? { firstError: String(firstError) } : {}),
    };
    const label = `${side} worker, delay()→get() at ${rate}/s`;
    return [
      {
        id: `${side}.latency.p50`,
        label: `${label}, p50`,
        kind: 'latency',
        value: percentile(latencies, 50),
        n: count,
        details,
      },
      {
        id: `${side}.latency.p99`,
        label: `${label}, p99`,
        kind: 'latency',
        value: percentile(latencies, 99),
        n: count,
        details,
      },
    ];
  } finally {
    await worker?.stop();
    await app.close();
    await deleteCeleryQueue(ctx.conn, queue);
    await deleteResults(redisUrl, ids);
  }
}

async function waitFor(condition: () => boolean, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`latency run did not settle within ${timeoutMs} ms`);
    await sleep(10);
  }
}

function round(value: number): number {
  return Math.round(value * 100) / 100;
}
