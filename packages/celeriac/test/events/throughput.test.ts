import { describe, expect, it } from 'vitest';
import { defaultQueueSpec } from '../../src/app/router.ts';
import { EventDispatcher } from '../../src/events/dispatcher.ts';
import { EventReceiver } from '../../src/events/receiver.ts';
import { attachEvents } from '../../src/events/worker-events.ts';
import { silentLogger } from '../../src/util/logger.ts';
import { Worker } from '../../src/worker/worker.ts';
import { memoryApp, taskMessage, waitFor } from '../worker/helpers.ts';

const N = 10_000;

describe('event throughput (memory transport)', () => {
  it('dispatches 10,000 task events, batched, end to end to a receiver', async () => {
    const app = memoryApp();
    const receiver = new EventReceiver(app, { wakeupWorkers: false });
    let received = 0;
    receiver.on('task-succeeded', () => received++);
    await receiver.start();
    const dispatcher = new EventDispatcher(await app.connection(), {
      hostname: 'bench@test',
      logger: silentLogger,
    });
    await dispatcher.start();
    const start = performance.now();
    for (let i = 0; i < N; i++)
      dispatcher.send('task-succeeded', { uuid: `id-${i}`, result: '4', runtime: 0.001 });
    const sendMs = performance.now() - start;
    await waitFor(() => received === N, 10_000, 'all events at the receiver');
    const totalMs = performance.now() - start;
    console.log(
      `events: send() ${Math.round(N / (sendMs / 1000))} events/s (${((sendMs * 1000) / N).toFixed(2)} µs each), ` +
        `end to end ${Math.round(N / (totalMs / 1000))} events/s in ${dispatcher.counts.messages} task.multi messages`,
    );
    expect(dispatcher.counts.messages).toBe(Math.ceil(N / 24));
    await dispatcher.close();
    await receiver.stop();
    await app.close();
  });

  it('costs the worker a bounded share of its throughput with -E', async () => {
    const rate = async (withEvents: boolean): Promise<{ rate: number; sent: number }> => {
      const app = memoryApp();
      app.task('bench.noop', () => undefined, { ignoreResult: true });
      const transport = await app.connection();
      await transport.declareQueue(defaultQueueSpec('celery'));
      const { message } = taskMessage('bench.noop', [1, 2]);
      for (let i = 0; i < N; i++) await transport.publish(message, { exchange: '', routingKey: 'celery' });
      const start = performance.now();
      const worker = new Worker(app, { concurrency: 10, prefetchMultiplier: 4, sendEvents: withEvents });
      // Attached before start, so no task runs unseen.
      const events = await attachEvents(worker, { logger: silentLogger });
      await worker.start();
      await waitFor(() => worker.processedTotals()['bench.noop'] === N, 30_000, 'all tasks');
      const elapsed = performance.now() - start;
      await worker.stop();
      await events.stop();
      return { rate: N / (elapsed / 1000), sent: events.dispatcher.counts.sent };
    };
    await rate(false); // warm up the JIT so the order does not decide
    const off = await rate(false);
    const on = await rate(true);
    console.log(
      `worker, memory transport: -E off ${Math.round(off.rate)} tasks/s, -E on ${Math.round(on.rate)} tasks/s ` +
        `(${Math.round((100 * on.rate) / off.rate)}%), ${on.sent} events published`,
    );
    expect(on.sent).toBeGreaterThanOrEqual(3 * N); // received + started + succeeded per task, + worker events
    expect(off.sent).toBeLessThan(5); // worker-online/offline only
    // Rates are reported above, not asserted: speed targets live in `npm run bench`.
  });
});
