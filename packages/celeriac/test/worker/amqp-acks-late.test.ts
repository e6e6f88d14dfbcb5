import amqplib from 'amqplib';
import { afterAll, afterEach, expect, it } from 'vitest';
import { Celeriac } from '../../src/app/celeriac.ts';
import type { TaskContext } from '../../src/task/context.ts';
import { describeWith, SERVICES, uniqueName } from '../helpers/services.ts';
import { startWorker, stopAll, waitFor } from './helpers.ts';

afterEach(stopAll);

await describeWith(['rabbitmq'], 'worker acksLate on RabbitMQ', () => {
  const queue = uniqueName('worker-acks-late');
  const results = `memory://${uniqueName('amqp-results')}`;

  afterAll(async () => {
    const connection = await amqplib.connect(SERVICES.rabbitmq.url);
    const channel = await connection.createChannel();
    await channel.deleteQueue(queue);
    await channel.deleteExchange(queue);
    await connection.close();
  });

  it('a task running when its worker stops is redelivered to the next worker', async () => {
    const app = new Celeriac({
      broker: SERVICES.rabbitmq.url,
      backend: results,
      defaultQueue: queue,
      acksLate: true,
      shutdownGrace: 100,
    });
    app.task(
      'amqp.long',
      (ctx: TaskContext) =>
        new Promise((_, reject) => ctx.signal.addEventListener('abort', () => reject(ctx.signal.reason))),
      { bind: true },
    );
    const first = await startWorker(app);
    const sent = await app.sendTask('amqp.long', [1]);
    await waitFor(() => first.active().length === 1, 5000);
    await first.stop();
    expect(await app.AsyncResult(sent.id).state).toBe('PENDING');

    const next = new Celeriac({
      broker: SERVICES.rabbitmq.url,
      backend: results,
      defaultQueue: queue,
      acksLate: true,
    });
    let redelivered: boolean | undefined;
    next.task(
      'amqp.long',
      (ctx: TaskContext, n: number) => ((redelivered = ctx.deliveryInfo.redelivered), n + 1),
      { bind: true },
    );
    await startWorker(next);
    expect(await next.AsyncResult(sent.id).get({ timeout: 5000 })).toBe(2);
    expect(redelivered).toBe(true);
  });
});
