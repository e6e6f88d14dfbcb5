import { afterEach, describe, expect, it } from 'vitest';
import { defaultQueueSpec } from '../../src/app/router.ts';
import { memoryApp, startWorker, stopAll, taskMessage, waitFor } from './helpers.ts';

afterEach(stopAll);

const N = 20_000;

/** Messages/s for a no-op, ignoreResult task on the memory transport, against raw consume+ack. */
describe('worker throughput (memory transport)', () => {
  it('runs no-op tasks at a large fraction of the raw consume+ack rate', async () => {
    const app = memoryApp();
    app.task('bench.noop', () => undefined, { ignoreResult: true });
    const transport = await app.connection();
    await transport.declareQueue(defaultQueueSpec('celery'));
    await transport.declareQueue(defaultQueueSpec('raw'));
    const { message } = taskMessage('bench.noop', [1, 2]);
    for (let i = 0; i < N; i++) {
      await transport.publish(message, { exchange: '', routingKey: 'raw' });
      await transport.publish(message, { exchange: '', routingKey: 'celery' });
    }

    let acked = 0;
    const rawStart = performance.now();
    const consumer = await transport.consume(['raw'], { prefetch: 40 }, (d) => {
      d.ack();
      acked++;
    });
    await waitFor(() => acked === N, 20_000);
    const rawRate = N / ((performance.now() - rawStart) / 1000);
    await consumer.cancel();

    const start = performance.now();
    const worker = await startWorker(app, { concurrency: 10, prefetchMultiplier: 4 });
    await waitFor(() => worker.processedTotals()['bench.noop'] === N, 20_000);
    const rate = N / ((performance.now() - start) / 1000);
    console.log(
      `memory transport: worker ${Math.round(rate)} tasks/s, raw consume+ack ${Math.round(rawRate)} msg/s (${Math.round((100 * rate) / rawRate)}%)`,
    );
    // The figure is reported, not asserted: speed targets live in `npm run bench`, not in timed tests.
    expect(worker.processedTotals()['bench.noop']).toBe(N);
  });
});
