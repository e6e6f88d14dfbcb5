/**
 * A Celeriac worker child for bench/scenarios/pools.ts: the same IPC contract as
 * ./celeriac-worker.ts (`{type: 'ready'}` once consuming, warm stop on `{type: 'stop'}` or SIGTERM),
 * plus a pool choice. The tasks live in ./pool-tasks.ts, which the threads and processes pools load
 * in each thread or child by its path, as the CLI's `-A` does.
 */
import { fileURLToPath } from 'node:url';
import { Worker } from '../../packages/celeriac/src/worker/worker.ts';
import type { PoolName } from '../../packages/celeriac/src/worker/worker-options.ts';
import type { CeleriacWorkerConfig } from '../lib/workers.ts';
import { app } from './pool-tasks.ts';
import { runWorkerChild } from './worker-child.ts';

export interface PoolWorkerConfig extends CeleriacWorkerConfig {
  pool: PoolName;
}

const config = JSON.parse(process.env.BENCH_WORKER ?? 'null') as PoolWorkerConfig | null;
if (!config) throw new Error('BENCH_WORKER is not set: this file is started by bench/scenarios/pools.ts');

const worker = new Worker(app, {
  queues: [config.queue],
  concurrency: config.concurrency,
  hostname: config.hostname,
  prefetchMultiplier: config.prefetchMultiplier,
  pool: config.pool,
  appModule: fileURLToPath(new URL('./pool-tasks.ts', import.meta.url)),
});

await runWorkerChild(worker, app);
