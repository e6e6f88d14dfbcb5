import { performance } from 'node:perf_hooks';
import { Celeriac } from '../../packages/celeriac/src/index.ts';
import { deleteCeleryQueue, queueDepthOn } from '../lib/amqp.ts';
import { inLanes } from '../lib/lanes.ts';
import { formatCount } from '../lib/progress.ts';
import { cpuMeter, ratePerSecond } from '../lib/stats.ts';
import type { Figure, Scenario, ScenarioContext } from '../lib/types.ts';
import { sampleShape } from './raw.ts';

/** `task.delay()` through Celeriac's AMQP transport (publisher confirms), many in flight. */
export const celeriacPublishScenario: Scenario = {
  name: 'celeriac-publish',
  title: 'Celeriac publish: delay() with confirms',
  async run(ctx) {
    return [await celeriacPublish(ctx)];
  },
};

async function celeriacPublish(ctx: ScenarioContext): Promise<Figure> {
  const { publishN: n, publishWindow, amqpUrl } = ctx.settings;
  const queue = ctx.uniqueName('bench-celeriac-pub');
  // No result backend: the raw row has none either (delay() would subscribe for each result).
  const app = new Celeriac({ broker: amqpUrl, defaultQueue: queue });
  const noop = app.task('bench.noop', () => undefined, { ignoreResult: true });
  try {
    const warmup = Math.min(2000, n);
    await inLanes(warmup, publishWindow, () => noop.delay());
    const cpu = cpuMeter();
    const started = performance.now();
    await inLanes(
      n,
      publishWindow,
      () => noop.delay(),
      (done) => ctx.progress.update(`celeriac delay() ${formatCount(done)}/${formatCount(n)}`),
    );
    const elapsed = performance.now() - started;
    const cpuUsPerTask = cpu(n);
    const { ready } = await queueDepthOn(ctx.conn, queue);
    if (ready !== n + warmup)
      throw new Error(`celeriac publish: broker holds ${ready}, expected ${n + warmup}`);
    const ch = await ctx.conn.createChannel();
    const sample = await sampleShape(ch, queue).finally(() => ch.close());
    return {
      id: 'celeriac.publish',
      label: 'celeriac delay() (confirms)',
      kind: 'rate',
      value: ratePerSecond(n, elapsed),
      n,
      details: { window: publishWindow, elapsedMs: Math.round(elapsed), cpuUsPerTask, ...sample },
    };
  } finally {
    await app.close();
    await deleteCeleryQueue(ctx.conn, queue);
  }
}
