/**
 * The backends wired into an app as a user meets them: `sendTask` subscribes or declares the
 * reply queue, a worker-side backend stores what the message asks, `AsyncResult.get` returns it.
 */
import { afterEach, expect, it } from 'vitest';
import { RedisBackend } from '../../src/backends/redis/redis-backend.ts';
import { RpcBackend } from '../../src/backends/rpc/rpc-backend.ts';
import type { ResultBackend } from '../../src/backends/backend.ts';
import { Celeriac } from '../../src/app/celeriac.ts';
import { decodeTaskMessage } from '../../src/protocol/codec.ts';
import { MemoryTransport } from '../../src/transports/memory/memory-transport.ts';
import { silentLogger } from '../../src/util/logger.ts';
import { metaFor } from '../backend-conformance.ts';
import { describeWith, uniqueName } from '../helpers/services.ts';
import { REDIS_BACKEND_URL } from './redis-test-url.ts';

const closing: { close(): Promise<void> }[] = [];
afterEach(async () => {
  await Promise.all(closing.splice(0).map((c) => c.close()));
});

/** Sends `tasks.add(2, 2)`, takes the message off the queue as a worker would, stores 4 through `worker`. */
async function roundTrip(backendUrl: string, makeWorkerBackend: (broker: MemoryTransport) => ResultBackend) {
  const brokerUrl = `memory://${uniqueName('app')}`;
  const queue = uniqueName('q');
  const app = new Celeriac({ broker: brokerUrl, backend: backendUrl, defaultQueue: queue });
  closing.push(app);
  const broker = new MemoryTransport(brokerUrl);
  await broker.connect();
  closing.push(broker);
  const worker = makeWorkerBackend(broker);
  closing.push(worker);
  const result = await app.sendTask<number>('tasks.add', [2, 2]);
  const consumer = await broker.consume([queue], { prefetch: 1 }, (delivery) => {
    const task = decodeTaskMessage(delivery.message);
    void worker
      .store(metaFor(task.headers.id, 'SUCCESS', 4), {
        replyTo: task.replyTo,
        correlationId: task.correlationId,
      })
      .then(() => delivery.ack());
  });
  closing.push({ close: () => consumer.cancel() });
  expect(await result.get({ timeout: 5000 })).toBe(4);
  expect(await result.state).toBe('SUCCESS');
  return result;
}

it('rpc:// delivers the result to the app that sent the task', async () => {
  await roundTrip(
    'rpc://',
    (broker) =>
      new RpcBackend('rpc://', {
        logger: silentLogger,
        resultExpiresMs: null,
        oid: 'worker',
        getBrokerTransport: async () => broker,
      }),
  );
});

await describeWith(['redis'], 'redis:// in an app', () => {
  it('redis:// delivers the result to any client', async () => {
    const result = await roundTrip(
      REDIS_BACKEND_URL,
      () =>
        new RedisBackend(REDIS_BACKEND_URL, {
          logger: silentLogger,
          resultExpiresMs: 60_000,
          oid: 'worker',
          getBrokerTransport: () => Promise.reject(new Error('unused')),
        }),
    );
    await result.forget();
    expect(await result.state).toBe('PENDING');
  });
});
