import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import amqplib from 'amqplib';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { RpcBackend } from '../../src/backends/rpc/rpc-backend.ts';
import { decodeTaskMessage } from '../../src/protocol/codec.ts';
import { AmqpTransport } from '../../src/transports/amqp/amqp-transport.ts';
import { silentLogger } from '../../src/util/logger.ts';
import { metaFor, runBackendConformance, sleep } from '../backend-conformance.ts';
import { describeWith, SERVICES, uniqueName } from '../helpers/services.ts';

const run = promisify(execFile);

await describeWith(['rabbitmq'], 'rpc:// backend over RabbitMQ', () => {
  let transport: AmqpTransport;
  beforeAll(async () => {
    transport = new AmqpTransport(SERVICES.rabbitmq.url, {
      logger: silentLogger,
      heartbeatMs: 60_000,
      connectionMaxRetries: 1,
      options: {},
    });
    await transport.connect();
  });
  afterAll(() => transport?.close());

  const rpcBackend = (oid = uniqueName('celeriac-test-oid')) =>
    new RpcBackend('rpc://', {
      logger: silentLogger,
      resultExpiresMs: 60_000,
      oid,
      getBrokerTransport: async () => transport,
    });

  runBackendConformance('rpc over amqp', () => rpcBackend(), {
    contextFor: (client) => ({ replyTo: (client as RpcBackend).oid }),
    expiry: false,
  });

  it('Python Celery 5.2 gets the result and the exception a Celeriac worker replies with', async () => {
    const queue = uniqueName('celeriac-test-rpc-q');
    await transport.declareQueue({ name: queue, durable: true });
    const worker = rpcBackend(uniqueName('celeriac-test-worker'));
    const seen: { replyTo: string | undefined; correlationId: string }[] = [];
    const consumer = await transport.consume([queue], { prefetch: 2 }, (delivery) => {
      const task = decodeTaskMessage(delivery.message);
      seen.push({ replyTo: task.replyTo, correlationId: task.correlationId });
      const [a, b] = task.args as [number, number];
      const meta =
        task.headers.task === 'tasks.add'
          ? metaFor(task.headers.id, 'SUCCESS', a + b)
          : metaFor(task.headers.id, 'FAILURE', {
              exc_type: 'ValueError',
              exc_message: ['bad'],
              exc_module: 'builtins',
            });
      void worker
        .store(meta, { replyTo: task.replyTo, correlationId: task.correlationId })
        .then(() => delivery.ack());
    });
    try {
      const script = `
import json, sys
from celery import Celery
app = Celery(broker=${JSON.stringify(SERVICES.rabbitmq.url)}, backend='rpc://')
ok = app.send_task('tasks.add', args=[2, 2], queue=sys.argv[1])
bad = app.send_task('tasks.fail', args=[0, 0], queue=sys.argv[1])
out = {'ok': ok.get(timeout=20), 'oid': app.thread_oid}
try:
    bad.get(timeout=20)
except ValueError as e:
    out['raised'] = [type(e).__name__, str(e)]
out['bad_status'] = bad.status
print(json.dumps(out))`;
      const { stdout } = await run('/usr/bin/python3', ['-c', script, queue], { timeout: 30_000 });
      const out = JSON.parse(stdout.trim().split('\n').at(-1)!) as Record<string, unknown>;
      expect(out).toMatchObject({ ok: 4, raised: ['ValueError', 'bad'], bad_status: 'FAILURE' });
      expect(seen.map((s) => s.replyTo)).toEqual([out.oid, out.oid]);
    } finally {
      await consumer.cancel();
      await worker.close();
      await transport.deleteQueue(queue);
      await deleteExchange(queue);
    }
  });

  it('declares the reply queue on RabbitMQ as Celery does, and it goes away with the client', async () => {
    const client = rpcBackend();
    await client.onTaskSent();
    const celerySpec = { durable: false, autoDelete: true, arguments: { 'x-expires': 60_000 } };
    // RabbitMQ accepts a re-declare only when every property matches, so these prove what we declared.
    expect(await redeclare(client.oid, celerySpec)).toBe('ok');
    expect(await redeclare(client.oid, { ...celerySpec, durable: true })).toMatch(/PRECONDITION_FAILED/);
    expect(await redeclare(client.oid, { ...celerySpec, arguments: { 'x-expires': 1000 } })).toMatch(
      /PRECONDITION_FAILED/,
    );
    await client.close();
    await sleep(100);
    expect(await redeclare(client.oid, { passive: true })).toMatch(/NOT_FOUND/);
  });
});

/** Celery declared an exchange named after the queue; remove it so the shared broker stays clean. */
async function deleteExchange(name: string): Promise<void> {
  const connection = await amqplib.connect(SERVICES.rabbitmq.url);
  try {
    const channel = await connection.createChannel();
    await channel.deleteExchange(name);
  } finally {
    await connection.close();
  }
}

/** Declares the queue on a fresh channel; 'ok' or the broker's refusal. */
async function redeclare(
  name: string,
  options: amqplib.Options.AssertQueue & { passive?: boolean },
): Promise<string> {
  const connection = await amqplib.connect(SERVICES.rabbitmq.url);
  try {
    const channel = await connection.createChannel();
    channel.on('error', () => undefined);
    if (options.passive) await channel.checkQueue(name);
    else await channel.assertQueue(name, options);
    return 'ok';
  } catch (error) {
    return (error as Error).message;
  } finally {
    await connection.close();
  }
}
