import { performance } from 'node:perf_hooks';
import { deleteCeleryQueue, queueDepth, queueDepthOn } from './amqp.ts';
import { celeryMessage, newRunTag, taggedId } from './celery-message.ts';
import { preloadQueue } from './preload.ts';
import { processTreeCpuMs } from './proc-cpu.ts';
import { formatCount } from './progress.ts';
import { deleteResults, ResultCounter } from './results.ts';
import { ratePerSecond, sleep } from './stats.ts';
import type { Figure, ScenarioContext } from './types.ts';
import { waitForConsumer, WorkerFailedError, type WorkerProcess } from './workers.ts';

export interface WorkerRun {
  id: string;
  label: string;
  n: number;
  /** false: `bench.noop` (ignore_result); true: `bench.noop_result`, stored in Redis. */
  withResults: boolean;
  /** Another task and its args instead of the no-op (e.g. `bench.hash`); results must be ignored. */
  task?: { name: string; args: unknown[] };
  start(queue: string): WorkerProcess;
  details?: Record<string, number | string | boolean>;
}

interface Measured {
  /** Tasks the elapsed time covers. */
  count: number;
  elapsedMs: number;
  /** CPU time of the worker's process tree while it ran `cpuTasks` tasks. */
  cpuMs: number;
  cpuTasks: number;
}

const SAMPLE_EVERY_MS = 10;
const STARTUP_TIMEOUT_MS = 30_000;
const SETTLE_MS = 1000;

/**
 * Worker throughput on a pre-loaded queue, the same way for Python and Celeriac:
 * - results ignored: the queue's ready count is sampled every 10 ms; the clock starts at the first
 *   sample below N (count c) and stops when it reads 0, rate = c / elapsed. The prefetch window
 *   taken before the first sample and the one still running after the last roughly cancel out.
 * - Redis results: every result's PUBLISH is counted; rate = (N - 1) / (last - first).
 * Either way the run fails unless all N messages were consumed (none left after the worker stops)
 * and, with results, all N stored as SUCCESS.
 */
export async function measureWorkerThroughput(ctx: ScenarioContext, run: WorkerRun): Promise<Figure> {
  const { n, withResults } = run;
  const queue = ctx.uniqueName(`bench-${run.id.replace(/\./g, '-')}`);
  const runTag = newRunTag();
  const ids = Array.from({ length: n }, () => taggedId(runTag));
  const task = run.task?.name ?? (withResults ? 'bench.noop_result' : 'bench.noop');
  let counter: ResultCounter | undefined;
  let worker: WorkerProcess | undefined;
  try {
    await preloadQueue(ctx, queue, n, (i) =>
      celeryMessage(task, ids[i]!, { ignoreResult: !withResults, args: run.task?.args }),
    );
    counter = withResults ? await ResultCounter.start(ctx.settings.redisUrl, runTag, n) : undefined;
    ctx.progress.update(`starting ${run.label}`);
    worker = run.start(queue);
    const timeoutMs = Math.max(60_000, (n / 200) * 1000);
    const measured = counter
      ? await countResults(ctx, worker, queue, counter, n, timeoutMs)
      : await watchDrain(ctx, worker, queue, n, timeoutMs);
    ctx.progress.update(`stopping ${worker.label}`);
    await worker.stop();
    const { ready } = await queueDepthOn(ctx.conn, queue);
    if (ready !== 0)
      throw new Error(`${run.label}: ${ready} of ${n} messages still on ${queue} after the worker stopped`);
    if (counter && counter.failures > 0)
      throw new Error(`${run.label}: ${counter.failures} tasks did not succeed`);
    return {
      id: run.id,
      label: run.label,
      kind: 'rate',
      value: ratePerSecond(measured.count, measured.elapsedMs),
      n,
      details: {
        ...run.details,
        method: withResults ? 'result PUBLISH count' : 'queue drain',
        elapsedMs: Math.round(measured.elapsedMs),
        cpuUsPerTask: Math.round((measured.cpuMs * 1000) / measured.cpuTasks),
      },
    };
  } finally {
    await worker?.stop();
    await counter?.close();
    await deleteCeleryQueue(ctx.conn, queue);
    if (withResults) await deleteResults(ctx.settings.redisUrl, ids);
  }
}

async function countResults(
  ctx: ScenarioContext,
  worker: WorkerProcess,
  queue: string,
  counter: ResultCounter,
  n: number,
  timeoutMs: number,
): Promise<Measured> {
  await waitForConsumerOn(ctx, worker, queue);
  const cpuAtStart = processTreeCpuMs(worker.pid);
  let exited = false;
  void worker.exited.then(() => (exited = true));
  const deadline = Date.now() + timeoutMs;
  let finished = false;
  void counter.done.then(() => (finished = true));
  while (!finished) {
    if (exited) throw new WorkerFailedError(worker, `exited after ${counter.count} of ${n} results`);
    if (Date.now() > deadline)
      throw new WorkerFailedError(worker, `stored ${counter.count} of ${n} results within ${timeoutMs} ms`);
    ctx.progress.update(`${worker.label}: ${formatCount(counter.count)}/${formatCount(n)} results`);
    await sleep(50);
  }
  const cpuMs = processTreeCpuMs(worker.pid) - cpuAtStart;
  return { count: n - 1, elapsedMs: counter.lastAtMs - counter.firstAtMs, cpuMs, cpuTasks: n };
}

async function waitForConsumerOn(ctx: ScenarioContext, worker: WorkerProcess, queue: string): Promise<void> {
  const ch = await ctx.conn.createChannel();
  try {
    await waitForConsumer(ch, queue, worker, STARTUP_TIMEOUT_MS);
  } finally {
    await ch.close().catch(() => {});
  }
}

async function watchDrain(
  ctx: ScenarioContext,
  worker: WorkerProcess,
  queue: string,
  n: number,
  timeoutMs: number,
): Promise<Measured> {
  const ch = await ctx.conn.createChannel();
  try {
    let exited = false;
    void worker.exited.then(() => (exited = true));
    const startDeadline = Date.now() + STARTUP_TIMEOUT_MS;
    const deadline = startDeadline + timeoutMs;
    let startedAt: number | undefined;
    let readyAtStart = 0;
    let cpuAtStart = Number.NaN;
    while (true) {
      const { ready } = await queueDepth(ch, queue);
      const now = performance.now();
      if (startedAt === undefined && ready < n) {
        startedAt = now;
        readyAtStart = ready;
        cpuAtStart = processTreeCpuMs(worker.pid);
      }
      if (ready === 0 && startedAt !== undefined) {
        const elapsedMs = now - startedAt;
        if (elapsedMs < 20 * SAMPLE_EVERY_MS) {
          throw new Error(
            `${worker.label} drained ${queue} in ${Math.round(elapsedMs)} ms: too short to measure, raise N`,
          );
        }
        // Ready at 0 leaves the worker's prefetch window still to run: let it finish before the
        // warm shutdown (which would hand it back), with the CPU meter running so it is paid for.
        await sleep(SETTLE_MS);
        const cpuMs = processTreeCpuMs(worker.pid) - cpuAtStart;
        return { count: readyAtStart, elapsedMs, cpuMs, cpuTasks: readyAtStart };
      }
      if (startedAt === undefined && Date.now() > startDeadline) {
        throw new WorkerFailedError(
          worker,
          `did not start consuming ${queue} within ${STARTUP_TIMEOUT_MS} ms`,
        );
      }
      if (exited) throw new WorkerFailedError(worker, `exited with ${ready} of ${n} messages still queued`);
      if (Date.now() > deadline)
        throw new WorkerFailedError(worker, `left ${ready} of ${n} messages after ${timeoutMs} ms`);
      ctx.progress.update(`${worker.label}: ${formatCount(n - ready)}/${formatCount(n)} consumed`);
      await sleep(SAMPLE_EVERY_MS);
    }
  } finally {
    await ch.close().catch(() => {});
  }
}
