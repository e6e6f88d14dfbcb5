// Worker memory with a deep queue: the broker hands over only the prefetch window
// (concurrency × prefetchMultiplier unacked messages; running tasks were acked early, as in Celery,
// so they come on top), so what the worker holds does not follow the depth of the queue.
// bench/scenarios/pools.ts measures the RSS with 500,000 waiting.
import amqplib from 'amqplib';
import { afterAll, expect, it } from 'vitest';
import { Celeriac } from '../../src/app/celeriac.ts';
import { describeWith, SERVICES, uniqueName } from '../helpers/services.ts';
import { publishRaw, startWorker, stopAll, taskMessage, waitFor } from './helpers.ts';

const DEPTH = 20_000;

await describeWith(['rabbitmq'], 'worker with a deep RabbitMQ queue', () => {
  const queue = uniqueName('worker-deep-queue');

  afterAll(async () => {
    await stopAll();
    const connection = await amqplib.connect(SERVICES.rabbitmq.url);
    const channel = await connection.createChannel();
    await channel.deleteQueue(queue);
    await channel.deleteExchange(queue).catch(() => undefined);
    await connection.close();
  });

  it(`holds only the prefetch window of ${DEPTH.toLocaleString('en-US')} waiting messages`, async () => {
    const app = new Celeriac({ broker: SERVICES.rabbitmq.url, defaultQueue: queue });
    const gates: Array<() => void> = [];
    app.task('deep.hold', () => new Promise<void>((resolve) => gates.push(resolve)), { ignoreResult: true });
    const transport = await app.connection();
    await app.declareQueueOnce(transport, app.queueSpec(queue));
    for (let sent = 0; sent < DEPTH; sent += 1000)
      await Promise.all(
        Array.from({ length: 1000 }, () => publishRaw(app, taskMessage('deep.hold').message, queue)),
      );
    const heapBefore = process.memoryUsage().heapUsed;
    const worker = await startWorker(app, { queues: [queue], concurrency: 2, prefetchMultiplier: 4 });
    expect(worker.prefetchCount()).toBe(8);
    // 2 running (acked at start) + 8 unacked waiting for a slot.
    const full = () => worker.active().length === 2 && worker.reserved().length === 8;
    await waitFor(full, 15_000, 'a full window');
    const connection = await amqplib.connect(SERVICES.rabbitmq.url);
    const channel = await connection.createChannel();
    try {
      // For a second, nothing more arrives; the rest stays in RabbitMQ.
      const until = Date.now() + 1000;
      while (Date.now() < until) {
        expect(worker.active().length + worker.reserved().length).toBe(10);
        await new Promise((r) => setTimeout(r, 50));
      }
      expect((await channel.checkQueue(queue)).messageCount).toBe(DEPTH - 10);
      const grewMb = (process.memoryUsage().heapUsed - heapBefore) / 2 ** 20;
      console.log(`deep queue: ${DEPTH} waiting, worker holds 10, heap grew ${grewMb.toFixed(1)} MiB`);
      // Two finish: two more come in, no more.
      for (const open of gates.splice(0, 2)) open();
      await waitFor(() => worker.processedTotals()['deep.hold'] === 2, 10_000, 'two tasks done');
      await waitFor(full, 10_000, 'the refilled window');
      expect((await channel.checkQueue(queue)).messageCount).toBe(DEPTH - 12);
    } finally {
      await channel.purgeQueue(queue);
      await connection.close();
      await worker.stop({ graceful: false });
      for (const open of gates.splice(0)) open();
    }
  });
});
