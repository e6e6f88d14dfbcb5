import { measureWorkerThroughput } from '../lib/measure-worker.ts';
import type { Scenario } from '../lib/types.ts';
import { startCeleriacWorker } from '../lib/workers.ts';

/** The Celeriac worker in a child process (tsx), async pool, on pre-loaded queues. */
export const celeriacWorkerScenario: Scenario = {
  name: 'celeriac-worker',
  title: 'Celeriac worker: no-op throughput',
  async run(ctx) {
    const {
      amqpUrl,
      redisUrl,
      workerN: n,
      celeriacConcurrency,
      prefetchMultiplier,
      profileDir,
    } = ctx.settings;
    const details = { pool: 'async', concurrency: celeriacConcurrency, prefetchMultiplier };
    const run = (withResults: boolean) =>
      measureWorkerThroughput(ctx, {
        id: withResults ? 'celeriac.worker.redis' : 'celeriac.worker.ignore',
        label: `celeriac worker, no-op, ${withResults ? 'Redis results' : 'results ignored'}`,
        n,
        withResults,
        details,
        start: (queue) =>
          startCeleriacWorker(
            {
              broker: amqpUrl,
              backend: withResults ? redisUrl : undefined,
              queue,
              concurrency: celeriacConcurrency,
              prefetchMultiplier,
              hostname: `${queue}@bench`,
            },
            profileDir,
          ),
      });
    return [
      ...(await ctx.attempt('results ignored', () => run(false))),
      ...(await ctx.attempt('Redis results', () => run(true))),
    ];
  },
};
