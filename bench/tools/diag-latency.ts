/**
 * Where does delay() → get() time go at a steady rate? Runs the same open-loop producer in
 * variants that switch off one part at a time and prints delay() (publish confirmed + result
 * subscribed) and delay() → get() percentiles for each.
 *
 *   npx tsx bench/tools/diag-latency.ts [--rate 1000] [--seconds 3]
 */
import { randomUUID } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import { Celeriac } from '../../packages/celeriac/src/index.ts';
import { declareCeleryQueue, deleteCeleryQueue, openAmqp } from '../lib/amqp.ts';
import { celeryMessage } from '../lib/celery-message.ts';
import { paced } from '../lib/lanes.ts';
import { deleteResults } from '../lib/results.ts';
import { percentile, sleep } from '../lib/stats.ts';
import { startCeleriacWorker, waitForConsumer, type WorkerProcess } from '../lib/workers.ts';

const { values } = parseArgs({
  options: { rate: { type: 'string', default: '1000' }, seconds: { type: 'string', default: '3' } },
});
const rate = Number(values.rate);
const count = rate * Number(values.seconds);
const amqpUrl = process.env.BENCH_AMQP_URL ?? 'amqp://guest:guest@127.0.0.1:5672//';
const redisUrl = process.env.BENCH_REDIS_URL ?? 'redis://127.0.0.1:6379/0';
const conn = await openAmqp(amqpUrl);

interface Variant {
  name: string;
  clientBackend: boolean;
  worker: 'none' | 'results' | 'ignore';
  waitResult: boolean;
}
const variants: Variant[] = [
  { name: 'no worker, client without backend', clientBackend: false, worker: 'none', waitResult: false },
  {
    name: 'no worker, client with Redis backend (subscribes)',
    clientBackend: true,
    worker: 'none',
    waitResult: false,
  },
  {
    name: 'worker ignoring results, client without backend',
    clientBackend: false,
    worker: 'ignore',
    waitResult: false,
  },
  {
    name: 'worker storing results, client subscribes but does not get()',
    clientBackend: true,
    worker: 'results',
    waitResult: false,
  },
  { name: 'worker storing results, client get()', clientBackend: true, worker: 'results', waitResult: true },
];

// The floor: raw amqplib publishing the same message at the same pace, timed to its confirm.
{
  const queue = `bench-diag-${process.pid}-raw`;
  await declareCeleryQueue(conn, queue);
  const ch = await conn.createConfirmChannel();
  const confirmed: number[] = [];
  const fire = () => {
    const t0 = performance.now();
    const m = celeryMessage('bench.noop', randomUUID(), { ignoreResult: true });
    ch.publish('', queue, m.body, m.options, () => confirmed.push(performance.now() - t0));
  };
  await paced(rate, count, fire);
  await ch.waitForConfirms();
  confirmed.sort((a, b) => a - b);
  console.log(
    `${'raw amqplib publish, no worker'.padEnd(62)} confirm: p50 ${percentile(confirmed, 50).toFixed(1)} ms, p99 ${percentile(confirmed, 99).toFixed(1)} ms`,
  );
  await ch.close();
  await deleteCeleryQueue(conn, queue);
}

for (const variant of variants) {
  const queue = `bench-diag-${process.pid}-${variants.indexOf(variant)}`;
  await declareCeleryQueue(conn, queue);
  let worker: WorkerProcess | undefined;
  if (variant.worker !== 'none') {
    worker = startCeleriacWorker({
      broker: amqpUrl,
      backend: variant.worker === 'results' ? redisUrl : undefined,
      queue,
      concurrency: 50,
      prefetchMultiplier: 4,
      hostname: `${queue}@bench`,
    });
    const ch = await conn.createChannel();
    await waitForConsumer(ch, queue, worker, 30_000);
    await ch.close();
  }
  const app = new Celeriac({
    broker: amqpUrl,
    backend: variant.clientBackend ? redisUrl : undefined,
    defaultQueue: queue,
  });
  const task = app.task(variant.worker === 'ignore' ? 'bench.noop' : 'bench.noop_result', () => undefined);
  const sent: number[] = [];
  const ids: string[] = [];
  // A subscription alone (onTaskSent for an id nobody sends), timed next to each delay().
  const subscribed: number[] = [];
  const backend = await app.backend();
  const done: number[] = [];
  let settled = 0;
  const fire = () => {
    const t0 = performance.now();
    if (backend?.onTaskSent) {
      void Promise.resolve(backend.onTaskSent(randomUUID())).then(() =>
        subscribed.push(performance.now() - t0),
      );
    }
    task
      .delay()
      .then(async (r) => {
        sent.push(performance.now() - t0);
        ids.push(r.id);
        if (variant.waitResult) {
          await r.get({ timeout: 15_000 });
          done.push(performance.now() - t0);
        }
      })
      .finally(() => settled++);
  };
  await paced(rate, 300, fire);
  while (settled < 300) await sleep(10);
  sent.length = 0;
  subscribed.length = 0;
  done.length = 0;
  settled = 0;
  const cpu = process.cpuUsage();
  await paced(rate, count, fire);
  while (settled < count) await sleep(10);
  const used = process.cpuUsage(cpu);
  sent.sort((a, b) => a - b);
  done.sort((a, b) => a - b);
  subscribed.sort((a, b) => a - b);
  const fmt = (xs: number[]) =>
    xs.length ? `p50 ${percentile(xs, 50).toFixed(1)} ms, p99 ${percentile(xs, 99).toFixed(1)} ms` : '-';
  console.log(
    `${variant.name.padEnd(62)} delay(): ${fmt(sent)}; →get(): ${fmt(done)}; onTaskSent alone: ${fmt(subscribed)}; client CPU ${Math.round((used.user + used.system) / count)} µs/task`,
  );
  await worker?.stop();
  await app.close();
  await deleteCeleryQueue(conn, queue);
  if (variant.worker === 'results') await deleteResults(redisUrl, ids);
}
await conn.close();
