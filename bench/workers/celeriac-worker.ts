/**
 * The Celeriac side of `npm run bench`: a worker in its own process, started through the Worker
 * API as a deployment would, with the same two no-op tasks as bench/py/bench_app.py.
 * Config comes as JSON in BENCH_WORKER; it says `{type: 'ready'}` over IPC once consuming and
 * stops (warm) on `{type: 'stop'}` or SIGTERM.
 */
import { Celeriac } from '../../packages/celeriac/src/index.ts';
import { Worker } from '../../packages/celeriac/src/worker/worker.ts';
import type { CeleriacWorkerConfig } from '../lib/workers.ts';
import { runWorkerChild } from './worker-child.ts';

const config = JSON.parse(process.env.BENCH_WORKER ?? 'null') as CeleriacWorkerConfig | null;
if (!config) throw new Error('BENCH_WORKER is not set: this file is started by bench/lib/workers.ts');

if (process.env.BENCH_EXPERIMENT_REDIS_AUTOPIPELINE === '1') {
  // Experiment only (see bench/README.md): turns on ioredis auto-pipelining for the result
  // backend's command connection (the one that defines the store script), to measure what
  // coalescing result writes into one socket write per tick is worth.
  const { Redis } = await import('ioredis');
  const defineCommand = Redis.prototype.defineCommand;
  Redis.prototype.defineCommand = function (this: InstanceType<typeof Redis>, ...args) {
    this.options.enableAutoPipelining = true;
    return defineCommand.apply(this, args);
  };
}

const app = new Celeriac({ broker: config.broker, backend: config.backend, defaultQueue: config.queue });
app.task('bench.noop', () => undefined, { ignoreResult: true });
app.task('bench.noop_result', () => undefined);

const worker = new Worker(app, {
  queues: [config.queue],
  concurrency: config.concurrency,
  hostname: config.hostname,
  prefetchMultiplier: config.prefetchMultiplier,
});

await runWorkerChild(worker, app);
