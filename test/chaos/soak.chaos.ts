/**
 * Soak: a steady 2,000 tasks/s for CHAOS_SOAK_SECONDS (default 180) through a worker (CLI child, async
 * pool) on RabbitMQ with a Redis result backend. The worker samples its own memory every second
 * (memory-sampler.mjs). Asserted: no growth trend, i.e. an RSS slope under 1 MB/min (least squares over
 * the second half) and a final RSS under 1.5× the RSS after warm-up; and, as everywhere, nothing lost.
 * The achieved rate is reported, not asserted (the machine is shared).
 */
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import amqplib from 'amqplib';
import { Redis } from 'ioredis';
import { afterAll, expect, it } from 'vitest';
import { Celeriac } from '../../packages/celeriac/src/app/celeriac.ts';
import { describeWith, SERVICES, uniqueName } from '../../packages/celeriac/test/helpers/services.ts';
import { pollUntil, tally } from './chaos-helpers.ts';
import { mb, rollingFloor, slopeMbPerMin, type MemorySample } from './memory-trend.ts';
import { recordScenario, RESULTS_DIR, type ScenarioResult } from './report.ts';
import { startWorkerCli, writeTaskModule, type WorkerChild } from './worker-process.ts';

const SECONDS = Number(process.env.CHAOS_SOAK_SECONDS ?? 180);
const RATE = Number(process.env.CHAOS_SOAK_RATE ?? 2_000);
/** A deliberate leak per task (bytes kept by the task module), to check the soak fails when it should. */
const LEAK = Number(process.env.CHAOS_SOAK_LEAK_BYTES ?? 0);
const SAMPLER = fileURLToPath(new URL('./memory-sampler.mjs', import.meta.url));

await describeWith(['rabbitmq', 'redis'], 'soak: steady load, memory sampled', () => {
  const dir = mkdtempSync(join(tmpdir(), 'celeriac-chaos-soak-'));
  const queue = uniqueName('chaos-soak');
  const runsKey = `${queue}:runs`;
  const memFile = join(dir, 'memory.jsonl');
  const backend = `${SERVICES.redis.url}/0`;
  const redis = new Redis(SERVICES.redis.url, { maxRetriesPerRequest: 2 });
  const client = new Celeriac({ broker: SERVICES.rabbitmq.url, defaultQueue: queue });
  const ids: string[] = [];
  let worker: WorkerChild | undefined;

  afterAll(async () => {
    if (worker && worker.child.exitCode === null) {
      worker.child.kill('SIGKILL');
      await worker.exited;
    }
    await (await client.connection()).deleteQueue(queue).catch(() => undefined);
    await client.close();
    await redis.del(runsKey);
    for (let i = 0; i < ids.length; i += 2_000)
      await redis.unlink(...ids.slice(i, i + 2_000).map((id) => `celery-task-meta-${id}`));
    redis.disconnect();
    rmSync(dir, { recursive: true, force: true });
  });

  it(`${RATE} tasks/s for ${SECONDS} s: no memory growth trend, nothing lost`, async () => {
    const module = writeTaskModule(dir, {
      queue,
      runsKey,
      redisUrl: SERVICES.redis.url,
      leakBytesPerTask: LEAK,
    });
    const transport = await client.connection();
    await client.declareQueueOnce(transport, { name: queue });
    const probe = await amqplib.connect(SERVICES.rabbitmq.url);
    const channel = await probe.createChannel();
    worker = startWorkerCli({
      module,
      broker: SERVICES.rabbitmq.url,
      backend,
      queue,
      pool: 'async',
      concurrency: 32,
      tag: queue,
      nodeArgs: ['--import', SAMPLER],
      env: { CHAOS_MEM_FILE: memFile },
      logLevel: 'warning',
      readyCheck: async () => (await channel.checkQueue(queue)).consumerCount > 0,
    });
    await worker.ready;
    await probe.close();

    // Steady producer: every 50 ms, send what the schedule says is due (catching up if a tick was late).
    const started = Date.now();
    const deadline = started + SECONDS * 1000;
    let sent = 0;
    let publishErrors = 0;
    while (Date.now() < deadline) {
      const due = Math.floor(((Date.now() - started) / 1000) * RATE);
      const batch: Promise<unknown>[] = [];
      for (; sent < due; sent++) {
        batch.push(
          client.sendTask('chaos.work', [sent, 0], {}, { queue }).then(
            (r) => ids.push(r.id),
            () => publishErrors++,
          ),
        );
      }
      await Promise.all(batch);
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    const producedS = (Date.now() - started) / 1000;
    const doneDuringLoad = await redis.hlen(runsKey);
    await pollUntil(async () => (await redis.hlen(runsKey)) >= sent, 180_000, `all ${sent} tasks run`, 500);
    const drainedS = (Date.now() - started) / 1000;
    worker.child.kill('SIGTERM');
    expect(await worker.exited).toBe('0');

    // Kept next to the JSON results (gitignored), to plot or to look at when the trend is in doubt.
    mkdirSync(RESULTS_DIR, { recursive: true });
    copyFileSync(memFile, join(RESULTS_DIR, 'soak-memory.jsonl'));
    const samples = readFileSync(memFile, 'utf8')
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line) as MemorySample);
    // The load's window, by wall clock (the sampler stamps each sample).
    const loadEndAt = started + producedS * 1000;
    const window = samples.filter((s) => s.at >= started && s.at <= loadEndAt);
    const halfAt = started + (producedS * 1000) / 2;
    const secondHalf = window.filter((s) => s.at >= halfAt);
    const warm = window.find((s) => s.at >= started + Math.min(30, producedS / 4) * 1000) ?? window[0]!;
    const last = window.at(-1)!;
    const rssSlope = slopeMbPerMin(secondHalf, (s) => s.rss);
    // What survives GC (the 20-s floor of heap used): a leak raises it, the sawtooth above it does not.
    const floor = rollingFloor(window, (s) => s.heapUsed, 20).filter((f) => f.t >= secondHalf[0]!.t);
    const heapFloorSlope = slopeMbPerMin(floor, (f) => f.value);
    // A slope over a short window is noisy: the GC sawtooth moves the heap floor by ~8 MB and RSS by
    // ~30 MB within a minute or two. The bound is what that noise can explain over the second half, and
    // 1 MB/min once the soak is long enough (CHAOS_SOAK_SECONDS >= 960 for the heap floor).
    const halfMinutes = producedS / 2 / 60;
    const heapBound = Math.max(1, 8 / halfMinutes);
    const rssBound = Math.max(1, 30 / halfMinutes);
    const runs = await tally(redis, runsKey, ids.length === sent ? ids.map((_, i) => String(i)) : []);
    const achieved = Math.round(sent / producedS);
    const completedRate = Math.round(doneDuringLoad / producedS);

    // A run with a deliberate leak checks the test, not Celeriac: it prints its figures but is not recorded.
    const record =
      LEAK > 0
        ? (r: ScenarioResult) => console.log(`[chaos] leak check (not recorded): ${r.notes}`)
        : recordScenario;
    record({
      id: 'soak-amqp-redis',
      scenario: `Soak: steady load for ${SECONDS} s (RabbitMQ, Redis results)`,
      load: `${RATE.toLocaleString('en-US')} tasks/s asked; ${achieved.toLocaleString('en-US')}/s sent, ${completedRate.toLocaleString('en-US')}/s completed during the load; -P async -c 32`,
      faults: 'none (memory watched)',
      sent,
      completed: runs.completed,
      duplicates: runs.duplicates,
      lost: runs.lost,
      notes:
        `RSS ${mb(warm.rss)} MB after warm-up → ${mb(last.rss)} MB at the end, slope ${rssSlope.toFixed(2)} MB/min ` +
        `(second half, ${secondHalf.length} samples; bound ${rssBound.toFixed(1)}); heap floor slope ` +
        `${heapFloorSlope.toFixed(2)} MB/min (bound ${heapBound.toFixed(1)}); ` +
        `all drained ${(drainedS - producedS).toFixed(0)} s after the load stopped`,
    });
    expect(publishErrors).toBe(0);
    expect(ids).toHaveLength(sent);
    expect(runs.lost).toBe(0);
    expect(runs.unexpected).toBe(0);
    expect(secondHalf.length).toBeGreaterThanOrEqual(Math.floor(producedS / 2) - 5);
    expect(heapFloorSlope, 'heap floor slope (MB/min) over the second half').toBeLessThan(heapBound);
    expect(rssSlope, 'RSS slope (MB/min) over the second half').toBeLessThan(rssBound);
    expect(last.rss, 'final RSS against RSS after warm-up').toBeLessThan(warm.rss * 1.5);
  });
});
