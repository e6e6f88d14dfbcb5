import { measureWorkerThroughput } from '../lib/measure-worker.ts';
import type { Scenario } from '../lib/types.ts';
import { startPythonWorker } from '../lib/workers.ts';

export const PYTHON_CONCURRENCY = 2;

/** Stock Celery 5.2, prefork with 2 processes, on the same pre-loaded queues as Celeriac. */
export const pythonWorkerScenario: Scenario = {
  name: 'python-worker',
  title: 'Python Celery 5.2 prefork worker (-c 2): no-op throughput',
  async run(ctx) {
    const { amqpUrl, redisUrl, pythonWorkerN: n } = ctx.settings;
    const details = { pool: 'prefork', concurrency: PYTHON_CONCURRENCY, prefetchMultiplier: 4 };
    const run = (withResults: boolean) =>
      measureWorkerThroughput(ctx, {
        id: withResults ? 'python.worker.redis' : 'python.worker.ignore',
        label: `python worker, no-op, ${withResults ? 'Redis results' : 'results ignored'}`,
        n,
        withResults,
        details,
        start: (queue) =>
          startPythonWorker({
            broker: amqpUrl,
            backend: withResults ? redisUrl : undefined,
            queue,
            concurrency: PYTHON_CONCURRENCY,
            hostname: `${queue}@bench`,
          }),
      });
    return [
      ...(await ctx.attempt('results ignored', () => run(false))),
      ...(await ctx.attempt('Redis results', () => run(true))),
    ];
  },
};
