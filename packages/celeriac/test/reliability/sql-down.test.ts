/**
 * The SQL result backend's database goes away while an acksLate task finishes: the worker must
 * keep the message unacked (src/worker/result-store.ts retries with back-off) and ack it only
 * once the state is stored, so neither the message nor the outcome is lost. The database
 * "goes away" behind a TCP proxy of the test's own; the shared PostgreSQL keeps running.
 */
import amqplib from 'amqplib';
import pg from 'pg';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { Celeriac } from '../../src/app/celeriac.ts';
import { Worker } from '../../src/worker/worker.ts';
import { capturingLogger } from '../backends/capturing-logger.ts';
import { describeWith, SERVICES, uniqueName } from '../helpers/services.ts';
import { rabbitmqctl } from '../transports/amqp-rabbitmqctl.ts';
import { waitFor } from '../worker/helpers.ts';
import { TcpProxy } from './tcp-proxy.ts';

/** Ready and unacked message counts of one queue, as RabbitMQ reports them. */
async function queueCounts(queue: string): Promise<{ ready: number; unacked: number }> {
  const out = await rabbitmqctl(
    'list_queues',
    '-q',
    '--no-table-headers',
    'name',
    'messages_ready',
    'messages_unacknowledged',
  );
  for (const line of out.split('\n')) {
    const [name, ready, unacked] = line.trim().split(/\s+/);
    if (name === queue) return { ready: Number(ready), unacked: Number(unacked) };
  }
  throw new Error(`queue ${queue} not listed by rabbitmqctl:\n${out}`);
}

await describeWith(['rabbitmq', 'postgres'], 'SQL result backend unreachable with acksLate', () => {
  const queue = uniqueName('reliability-sql-down');
  const ids: string[] = [];
  const { logger, lines } = capturingLogger();
  let proxy: TcpProxy;
  let workerApp: Celeriac;
  let clientApp: Celeriac;
  let worker: Worker;

  beforeAll(async () => {
    proxy = await TcpProxy.start({ host: SERVICES.postgres.host, port: SERVICES.postgres.port });
    const viaProxy = SERVICES.postgres.url.replace(`:${SERVICES.postgres.port}/`, `:${proxy.port}/`);
    expect(viaProxy).not.toBe(SERVICES.postgres.url);
    workerApp = new Celeriac({
      broker: SERVICES.rabbitmq.url,
      backend: viaProxy,
      defaultQueue: queue,
      acksLate: true,
      logger,
    });
    workerApp.task('sqldown.add', (x: number, y: number) => x + y);
    // The client reads results straight from PostgreSQL: only the worker's path goes down.
    clientApp = new Celeriac({
      broker: SERVICES.rabbitmq.url,
      backend: SERVICES.postgres.url,
      defaultQueue: queue,
    });
    worker = new Worker(workerApp, { queues: [queue], concurrency: 2, resultStoreRetryMs: 20_000, logger });
    await worker.start();
  });

  afterAll(async () => {
    await worker?.stop().catch(() => undefined);
    await workerApp?.close().catch(() => undefined);
    await clientApp?.close().catch(() => undefined);
    await proxy?.close();
    const connection = await amqplib.connect(SERVICES.rabbitmq.url);
    const channel = await connection.createChannel();
    await channel.deleteQueue(queue);
    await channel.deleteExchange(queue);
    await connection.close();
    if (ids.length > 0) {
      const client = new pg.Client({ connectionString: SERVICES.postgres.url });
      await client.connect();
      await client.query('DELETE FROM celeriac_task_result WHERE task_id = ANY($1)', [ids]);
      await client.end();
    }
  });

  // Cutting the database's connections used to crash the process with an uncaught pg 'error' from a
  // checked-out pool client (fixed in src/backends/sql/sql-connection.ts); this test keeps it fixed.
  it('keeps the message unacked while the database is down, then stores the state and acks', async () => {
    // Baseline through the proxy: the path works when the database is up.
    const first = await clientApp.sendTask('sqldown.add', [1, 1]);
    ids.push(first.id);
    expect(await first.get({ timeout: 10_000 })).toBe(2);

    proxy.down();
    const sent = await Promise.all([
      clientApp.sendTask('sqldown.add', [2, 2]),
      clientApp.sendTask('sqldown.add', [3, 3]),
    ]);
    ids.push(...sent.map((r) => r.id));
    const retrying = () =>
      lines().filter(
        (l) => l.level === 40 && /failed storing SUCCESS .*retrying with back-off/.test(String(l.msg)),
      );
    await waitFor(() => retrying().length === 2, 10_000);

    // Both tasks ran; neither outcome is stored and both messages are still held by the worker, unacked.
    expect(await queueCounts(queue)).toEqual({ ready: 0, unacked: 2 });
    for (const r of sent) expect(await clientApp.AsyncResult(r.id).state).toBe('PENDING');
    expect(proxy.refused).toBeGreaterThan(0);
    // Still the same after another second of outage: nothing was given up or acked early.
    await new Promise((resolve) => setTimeout(resolve, 1000));
    expect(await queueCounts(queue)).toEqual({ ready: 0, unacked: 2 });

    proxy.up();
    expect(await Promise.all(sent.map((r) => r.get({ timeout: 15_000 })))).toEqual([4, 6]);
    let counts = await queueCounts(queue);
    for (let i = 0; i < 20 && counts.unacked > 0; i++) {
      await new Promise((resolve) => setTimeout(resolve, 250));
      counts = await queueCounts(queue);
    }
    expect(counts).toEqual({ ready: 0, unacked: 0 });
    // Stored once, not given up on: no "gave up" error line.
    expect(lines().filter((l) => /gave up/.test(String(l.msg)))).toEqual([]);
  });
});
