/**
 * "Redis restarted mid-run", without restarting the shared Redis: the worker's transport and
 * result backend reach Redis through a TCP proxy of the test's own, which drops every connection
 * and refuses new ones for 2 s while acksLate tasks are in flight. Every task must still end
 * with a stored SUCCESS, and the worker must log the loss and resume on its own.
 */
import { Redis } from 'ioredis';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { Celeriac } from '../../src/app/celeriac.ts';
import { Worker } from '../../src/worker/worker.ts';
import { capturingLogger } from '../backends/capturing-logger.ts';
import { describeWith, SERVICES, uniqueName } from '../helpers/services.ts';
import { waitFor } from '../worker/helpers.ts';
import { TcpProxy } from './tcp-proxy.ts';

const TASKS = 24;
const OUTAGE_MS = 2_000;

await describeWith(['redis'], 'Redis connections cut mid-run (acksLate)', () => {
  const queue = uniqueName('reliability-redis-restart');
  const keyprefix = `${queue}:`;
  const ids: string[] = [];
  const { logger, lines } = capturingLogger();
  const redis = new Redis(`${SERVICES.redis.url}/0`, { maxRetriesPerRequest: 1 });
  let proxy: TcpProxy;
  let workerApp: Celeriac;
  let clientApp: Celeriac;
  let worker: Worker;

  const storedSuccesses = async () => {
    if (ids.length === 0) return 0;
    const values = await redis.mget(...ids.map((id) => `celery-task-meta-${id}`));
    return values.filter((v) => v !== null && (JSON.parse(v) as { status: string }).status === 'SUCCESS')
      .length;
  };

  beforeAll(async () => {
    proxy = await TcpProxy.start({ host: SERVICES.redis.host, port: SERVICES.redis.port });
    const viaProxy = `redis://127.0.0.1:${proxy.port}/0`;
    const brokerOptions = { globalKeyprefix: keyprefix, visibilityTimeoutMs: 5_000 };
    workerApp = new Celeriac({
      broker: viaProxy,
      backend: viaProxy,
      brokerOptions,
      defaultQueue: queue,
      acksLate: true,
      logger,
    });
    workerApp.task(
      'restart.slow_add',
      async (x: number, y: number) => {
        await new Promise((resolve) => setTimeout(resolve, 250));
        return x + y;
      },
      { params: ['x', 'y'] },
    );
    // The client publishes straight to Redis: only the worker's connections are cut.
    clientApp = new Celeriac({
      broker: `${SERVICES.redis.url}/0`,
      backend: `${SERVICES.redis.url}/0`,
      brokerOptions,
      defaultQueue: queue,
    });
    worker = new Worker(workerApp, { queues: [queue], concurrency: 4, resultStoreRetryMs: 20_000, logger });
    await worker.start();
  });

  afterAll(async () => {
    await worker?.stop().catch(() => undefined);
    await workerApp?.close().catch(() => undefined);
    await clientApp?.close().catch(() => undefined);
    await proxy?.close();
    const ours: string[] = ids.map((id) => `celery-task-meta-${id}`);
    let cursor = '0';
    do {
      const [next, batch] = await redis.scan(cursor, 'MATCH', `${keyprefix}*`, 'COUNT', 1000);
      cursor = next;
      ours.push(...batch);
    } while (cursor !== '0');
    if (ours.length > 0) await redis.del(...ours);
    redis.disconnect();
  });

  it('every task completes after all connections drop for 2 s; the worker logs the loss and resumes', async () => {
    for (let i = 0; i < TASKS; i++) ids.push((await clientApp.sendTask('restart.slow_add', [i, 1])).id);
    // Cut once some results are in and the rest are queued or running.
    await waitFor(async () => (await storedSuccesses()) >= 4, 10_000);
    const before = await storedSuccesses();
    expect(before).toBeLessThan(TASKS);
    const acceptedBefore = proxy.accepted;
    proxy.down();
    await new Promise((resolve) => setTimeout(resolve, OUTAGE_MS));
    expect(proxy.refused).toBeGreaterThan(0);
    // Nothing could complete through a dead proxy.
    expect(await storedSuccesses()).toBeLessThanOrEqual(before + 4);
    proxy.up();

    await waitFor(async () => (await storedSuccesses()) === TASKS, 20_000);
    const results = await Promise.all(ids.map((id) => clientApp.AsyncResult(id).get({ timeout: 5_000 })));
    expect(results).toEqual(Array.from({ length: TASKS }, (_, i) => i + 1));
    // It reconnected by itself (new connections through the proxy) and said so.
    expect(proxy.accepted).toBeGreaterThan(acceptedBefore);
    const messages = lines().map((l) => String(l.msg));
    expect(messages).toContain('redis transport: connection lost, reconnecting');
    await waitFor(() => lines().some((l) => l.msg === 'redis transport: connection restored'), 5_000);
    // Nothing left behind: no queued message and no unacked delivery under our prefix.
    await waitFor(async () => (await redis.llen(`${keyprefix}${queue}`)) === 0, 5_000);
    await waitFor(async () => (await redis.hlen(`${keyprefix}unacked`)) === 0, 8_000);
  });
});
