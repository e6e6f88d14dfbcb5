import { afterAll, describe, expect, it } from 'vitest';
import { RpcBackend } from '../../src/backends/rpc/rpc-backend.ts';
import { MemoryTransport } from '../../src/transports/memory/memory-transport.ts';
import type { Delivery, Transport } from '../../src/transports/transport.ts';
import { silentLogger } from '../../src/util/logger.ts';
import { metaFor, runBackendConformance, sleep } from '../backend-conformance.ts';
import { uniqueName } from '../helpers/services.ts';
import { capturingLogger } from './capturing-logger.ts';

const transport = new MemoryTransport(`memory://${uniqueName('rpc')}`);
await transport.connect();
afterAll(() => transport.close());

function rpcBackend(
  over: Partial<ConstructorParameters<typeof RpcBackend>[1]> = {},
  via: Transport = transport,
) {
  return new RpcBackend('rpc://', {
    logger: silentLogger,
    resultExpiresMs: null,
    oid: uniqueName('oid'),
    getBrokerTransport: async () => via,
    ...over,
  });
}

runBackendConformance('rpc over memory', () => rpcBackend(), {
  contextFor: (client) => ({ replyTo: (client as RpcBackend).oid }),
  expiry: false,
});

describe('rpc:// backend over the memory transport', () => {
  it('publishes exactly what Python publishes: 5 keys, correlation id, transient, JSON', async () => {
    const worker = rpcBackend();
    const replyTo = uniqueName('reply');
    await transport.declareQueue({ name: replyTo, durable: false, autoDelete: true });
    const got: Delivery[] = [];
    const consumer = await transport.consume([replyTo], { prefetch: 0, noAck: true }, (d) => got.push(d));
    const meta = metaFor('t-1', 'SUCCESS', { x: 1 }, { group_id: 'g', parent_id: 'p' });
    await worker.store(meta, { replyTo, correlationId: 'corr-1' });
    await worker.store(metaFor('t-2', 'STARTED', null), { replyTo });
    await sleep(10);
    await consumer.cancel();
    expect(got).toHaveLength(2);
    const [first, second] = got as [Delivery, Delivery];
    expect(first.exchange).toBe('');
    expect(first.routingKey).toBe(replyTo);
    expect(first.message.properties).toMatchObject({
      contentType: 'application/json',
      contentEncoding: 'utf-8',
      correlationId: 'corr-1',
      deliveryMode: 1,
    });
    expect(JSON.parse(first.message.body.toString())).toEqual({
      task_id: 't-1',
      status: 'SUCCESS',
      result: { x: 1 },
      traceback: null,
      children: [],
    });
    // Without a correlation id, the task id is the correlation id (rpc.py `destination_for`).
    expect(second.message.properties.correlationId).toBe('t-2');
    await worker.close();
  });

  it('declares the reply queue as Celery does: oid, not durable, auto-delete, x-expires', async () => {
    const declared: unknown[] = [];
    const spy = new Proxy(transport, {
      get(target, key, receiver) {
        if (key === 'declareQueue')
          return (spec: unknown) => (declared.push(spec), target.declareQueue(spec as never));
        return Reflect.get(target, key, receiver);
      },
    });
    const client = rpcBackend({ resultExpiresMs: 86_400_000 }, spy);
    await client.onTaskSent();
    await client.onTaskSent();
    await client.get('whatever');
    expect(declared).toEqual([
      { name: client.oid, durable: false, autoDelete: true, arguments: { 'x-expires': 86_400_000 } },
    ]);
    await client.close();
  });

  it('drops a result without reply_to with a warning instead of failing the task', async () => {
    const { logger, lines } = capturingLogger();
    const worker = rpcBackend({ logger });
    await expect(worker.store(metaFor('t-3', 'SUCCESS', 1), {})).resolves.toBeUndefined();
    expect(lines()).toContainEqual(
      expect.objectContaining({ level: 40, taskId: 't-3', msg: expect.stringMatching(/no reply_to/) }),
    );
    await worker.close();
  });

  it('ignores an unreadable reply with a warning and keeps consuming', async () => {
    const { logger, lines } = capturingLogger();
    const client = rpcBackend({ logger });
    await client.onTaskSent();
    const send = (body: string, correlationId = 'x') =>
      transport.publish(
        {
          body: Buffer.from(body),
          properties: {
            contentType: 'application/json',
            contentEncoding: 'utf-8',
            correlationId,
            headers: {},
          },
        },
        { exchange: '', routingKey: client.oid },
      );
    await send('not json');
    await send('[1,2]');
    await send(
      JSON.stringify({ task_id: 'ok-1', status: 'SUCCESS', result: 3, traceback: null, children: [] }),
    );
    // A reply without task_id is placed by its correlation id.
    await send(JSON.stringify({ status: 'SUCCESS', result: 4 }), 'ok-2');
    expect(await client.waitReady('ok-1', { timeoutMs: 1000 })).toMatchObject({ result: 3 });
    expect(await client.waitReady('ok-2', { timeoutMs: 1000 })).toMatchObject({ task_id: 'ok-2', result: 4 });
    expect(lines().filter((l) => l.level === 40)).toHaveLength(2);
    await client.close();
  });

  it('rejects a URL with a host or path', () => {
    expect(
      () =>
        new RpcBackend('rpc://somehost', {
          logger: silentLogger,
          resultExpiresMs: null,
          oid: 'o',
          getBrokerTransport: async () => transport,
        }),
    ).toThrow(/takes no host/);
  });
});
