/**
 * Routing against a real RabbitMQ: queue arguments matching Python's (no 406 PRECONDITION_FAILED),
 * priorities with x-max-priority, topic and fanout exchanges from task_routes, and `worker -Q`
 * declaring a queue exactly as the client does.
 */
import { spawnSync } from 'node:child_process';
import { connect, type ChannelModel } from 'amqplib';
import { afterAll, afterEach, beforeAll, expect, it } from 'vitest';
import { Celeriac, Worker } from '../../src/index.ts';
import { decodeTaskMessage } from '../../src/protocol/codec.ts';
import type { Delivery } from '../../src/transports/transport.ts';
import { describeWith, SERVICES, uniqueName } from '../helpers/services.ts';
import { waitFor } from '../worker/helpers.ts';

const AMQP = SERVICES.rabbitmq.url;

await describeWith(['rabbitmq'], 'routing on RabbitMQ', () => {
  const queues: string[] = [];
  const exchanges: string[] = [];
  const apps: Celeriac[] = [];
  let admin: ChannelModel;

  beforeAll(async () => {
    admin = await connect(AMQP);
  });
  afterEach(async () => {
    await Promise.all(apps.splice(0).map((a) => a.close()));
  });
  afterAll(async () => {
    const ch = await admin.createChannel();
    for (const q of queues) await ch.deleteQueue(q);
    for (const e of exchanges) await ch.deleteExchange(e);
    await admin.close();
  });

  function name(prefix: string, kind: 'queue' | 'exchange' = 'queue'): string {
    const n = uniqueName(prefix);
    (kind === 'queue' ? queues : exchanges).push(n);
    if (kind === 'queue') exchanges.push(n); // Celery declares an exchange named like each queue
    return n;
  }

  function makeApp(options: ConstructorParameters<typeof Celeriac>[0] = {}) {
    const app = new Celeriac({ broker: AMQP, ...options });
    apps.push(app);
    return app;
  }

  /** Queues the messages waiting in `queue`, consumed raw in delivery order. */
  async function drain(app: Celeriac, queue: string, count: number) {
    const transport = await app.connection();
    const seen: Delivery[] = [];
    const consumer = await transport.consume([queue], { prefetch: 1 }, (d) => {
      seen.push(d);
      d.ack();
    });
    await waitFor(() => seen.length >= count, 5000, `${count} messages in ${queue}`);
    await consumer.cancel();
    return seen.map((d) => decodeTaskMessage(d.message));
  }

  it('sends to a queue Python declared with x-max-priority without PRECONDITION_FAILED (and fails without the declaration)', async () => {
    const queue = name('py-prio');
    const script = [
      'import sys',
      'from kombu import Connection, Exchange, Queue',
      'with Connection(sys.argv[1]) as c:',
      '    Queue(sys.argv[2], Exchange(sys.argv[2], "direct"), routing_key=sys.argv[2], max_priority=10)(c.default_channel).declare()',
    ].join('\n');
    const py = spawnSync('/usr/bin/python3', ['-c', script, AMQP, queue], {
      encoding: 'utf8',
      timeout: 20_000,
    });
    expect(py.status, py.stderr).toBe(0);

    const matching = makeApp({ queues: [{ name: queue, maxPriority: 10 }] });
    await matching.sendTask('r.any', [1], {}, { queue });
    const worker = new Worker(matching, { queues: [queue], concurrency: 1 });
    matching.task('r.any', (x: number) => x);
    await worker.start(); // `worker -Q` declares it again, with the same arguments
    await worker.stop();

    const mismatched = makeApp();
    await expect(mismatched.sendTask('r.any', [1], {}, { queue })).rejects.toThrow(/PRECONDITION_FAILED|406/);
  });

  it('delivers higher priorities first on a queue with x-max-priority, priority coming from routes too', async () => {
    const queue = name('prio');
    const app = makeApp({
      queues: [{ name: queue, maxPriority: 10 }],
      taskRoutes: { 'r.urgent': { queue, priority: 9 } },
    });
    await app.sendTask('r.normal', ['low'], {}, { queue, priority: 1 });
    await app.sendTask('r.normal', ['mid'], {}, { queue, priority: 5 });
    await app.sendTask('r.urgent', ['high']);
    const messages = await drain(app, queue, 3);
    expect(messages.map((m) => m.args[0])).toEqual(['high', 'mid', 'low']);
  });

  it('routes through a topic exchange by routing key and a fanout exchange to every bound queue', async () => {
    const topicEx = name('topic-ex', 'exchange');
    const fanEx = name('fan-ex', 'exchange');
    const daily = name('daily');
    const other = name('other');
    const fanA = name('fan-a');
    const fanB = name('fan-b');
    const app = makeApp({
      queues: [
        { name: daily, exchange: topicEx, exchangeType: 'topic', routingKey: 'report.daily.*' },
        { name: other, exchange: topicEx, exchangeType: 'topic', routingKey: 'report.other.*' },
        { name: fanA, exchange: fanEx, exchangeType: 'fanout', routingKey: '' },
        { name: fanB, exchange: fanEx, exchangeType: 'fanout', routingKey: '' },
      ],
      taskRoutes: {
        'reports.*': { queue: daily, routingKey: 'report.daily.pdf' },
        'notify.all': { queue: fanA },
      },
    });
    // Declare the other bound queues (a worker with -Q would), then send.
    const transport = await app.connection();
    await app.declareQueueOnce(transport, app.queueSpec(other));
    await app.declareQueueOnce(transport, app.queueSpec(fanB));
    await app.sendTask('reports.make', ['r1']);
    await app.sendTask('notify.all', ['n1']);
    expect((await drain(app, daily, 1)).map((m) => m.args[0])).toEqual(['r1']);
    expect((await drain(app, fanA, 1)).map((m) => m.args[0])).toEqual(['n1']);
    expect((await drain(app, fanB, 1)).map((m) => m.args[0])).toEqual(['n1']);
    expect(await transport.queueLength(other)).toBe(0);
  });

  it('declares a quorum queue from `queues` (worker and client alike)', async () => {
    const queue = name('quorum');
    const app = makeApp({ queues: [{ name: queue, queueType: 'quorum' }] });
    await app.sendTask('r.q', ['x'], {}, { queue });
    // Asserting it again as a quorum queue succeeds only if it is one.
    const ch = await admin.createChannel();
    await expect(
      ch.assertQueue(queue, { durable: true, arguments: { 'x-queue-type': 'quorum' } }),
    ).resolves.toMatchObject({ messageCount: 1 });
    await ch.close();
    // A Celeriac worker consumes it: quorum queues refuse Celery's global QoS, so the consumer uses
    // per-consumer QoS there (RabbitMQ would otherwise close the connection with NOT_IMPLEMENTED).
    const workerApp = new Celeriac({
      broker: AMQP,
      backend: `memory://${queue}`,
      queues: [{ name: queue, queueType: 'quorum' }],
    });
    const seen: string[] = [];
    workerApp.task('r.q', (word: string) => void seen.push(word));
    const worker = new Worker(workerApp, { queues: [queue], concurrency: 2 });
    await worker.start();
    try {
      await waitFor(() => seen.length === 1, 10_000, 'the quorum queue task to run');
      expect(seen).toEqual(['x']);
    } finally {
      await worker.stop();
    }
  });
});
