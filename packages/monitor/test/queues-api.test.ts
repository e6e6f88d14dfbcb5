import { createServer, type IncomingHttpHeaders } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Celeriac, Worker, type Delivery } from 'celeriac';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { describeWith, SERVICES, uniqueName } from '../../celeriac/test/helpers/services.ts';
import { Monitor } from '../src/monitor.ts';
import type { QueueSnapshot } from '../src/queues/queue-monitor.ts';
import { createMonitorApp } from '../src/server/app.ts';
import { waitFor } from './helpers.ts';

const TOKEN = 'queues-token-0123456789';
const bearer = { Authorization: `Bearer ${TOKEN}` };

function setUp(monitor: Monitor) {
  const web = createMonitorApp(monitor, { auth: { apiTokens: [TOKEN] } });
  return async (
    query = '',
  ): Promise<{ status: number; body: QueueSnapshot & { error?: { code: string } } }> => {
    const res = await web.request(`/api/queues${query}`, { headers: bearer });
    return { status: res.status, body: (await res.json()) as QueueSnapshot & { error?: { code: string } } };
  };
}

await describeWith(['rabbitmq'], 'queues API on RabbitMQ (passive declares)', () => {
  const prefix = uniqueName('h2q');
  const q = { default: `${prefix}-default`, declared: `${prefix}-declared`, worker: `${prefix}-worker` };
  const missing = `${prefix}-missing`;
  let app: Celeriac;
  let workerApp: Celeriac;
  let worker: Worker;
  let monitor: Monitor;
  let queues: ReturnType<typeof setUp>;

  beforeAll(async () => {
    app = new Celeriac({
      broker: SERVICES.rabbitmq.url,
      defaultQueue: q.default,
      queues: [{ name: q.declared }],
    });
    for (let i = 0; i < 3; i++) await app.sendTask('tasks.nobody', [i], {}, { queue: q.declared });
    // A real worker consuming a queue of its own: the monitor learns it from inspect active_queues.
    workerApp = new Celeriac({ broker: SERVICES.rabbitmq.url, defaultQueue: q.worker });
    worker = new Worker(workerApp, {
      queues: [q.worker],
      hostname: `${prefix}@test`,
      remoteControl: true,
      heartbeat: false,
      mingle: false,
      concurrency: 1,
    });
    await worker.start();
    monitor = new Monitor(app, { history: false, enableEventsIntervalMs: 0, inspectTimeoutMs: 1500 });
    queues = setUp(monitor);
  }, 30_000);

  afterAll(async () => {
    await worker?.stop();
    await monitor?.stop();
    const transport = await app.connection();
    for (const name of Object.values(q)) await transport.deleteQueue(name).catch(() => undefined);
    await workerApp?.close();
    await app?.close();
  });

  it('reports ready messages and consumers of the default, declared, worker and asked-for queues', async () => {
    const { status, body } = await queues(
      `?queue=${encodeURIComponent(missing)}&queue=${encodeURIComponent(q.declared)}`,
    );
    expect(status).toBe(200);
    expect(body.broker).toBe('amqp');
    const row = (name: string) => body.queues.find((r) => r.name === name);
    expect(row(q.declared)).toMatchObject({
      exists: true,
      ready: 3,
      consumers: 0,
      sources: ['declared', 'requested'],
    });
    expect(row(q.worker)).toMatchObject({
      exists: true,
      ready: 0,
      consumers: 1,
      workers: [`${prefix}@test`],
    });
    expect(row(q.worker)!.sources).toContain('worker');
    // The default queue was never declared here (nothing was sent to it): RabbitMQ answers 404.
    expect(row(q.default)).toMatchObject({ exists: false, ready: null, sources: ['default'] });
    expect(row(missing)).toMatchObject({
      exists: false,
      ready: null,
      consumers: null,
      sources: ['requested'],
    });

    // The 404 closed only the probing channel: the app can still publish and the next probe works.
    await app.sendTask('tasks.nobody', [9], {}, { queue: q.declared });
    const again = await queues();
    expect(again.body.queues.find((r) => r.name === q.declared)).toMatchObject({ ready: 4 });

    const flower = await (
      await createMonitorApp(monitor, { auth: { apiTokens: [TOKEN] } }).request('/api/queues/length', {
        headers: bearer,
      })
    ).json();
    expect(flower).toMatchObject({
      active_queues: expect.arrayContaining([{ name: q.declared, messages: 4 }]),
    });
  });

  it("uses RabbitMQ's management API when given (--broker-api), and passive declares when it fails", async () => {
    // RabbitMQ here has no management plugin: a small HTTP server answers as its API documents.
    const seen: Array<{ url: string; headers: IncomingHttpHeaders }> = [];
    let healthy = true;
    const api = createServer((req, res) => {
      seen.push({ url: req.url ?? '', headers: req.headers });
      if (!healthy) return void res.writeHead(503).end();
      if (!req.url?.endsWith(`/${encodeURIComponent(q.declared)}`)) return void res.writeHead(404).end('{}');
      res.writeHead(200, { 'content-type': 'application/json' }).end(
        JSON.stringify({
          messages_ready: 40,
          messages_unacknowledged: 7,
          consumers: 2,
          message_stats: { publish_details: { rate: 12.5 }, deliver_get_details: { rate: 3 } },
        }),
      );
    });
    await new Promise<void>((r) => api.listen(0, '127.0.0.1', r));
    const { port } = api.address() as AddressInfo;
    const managed = new Monitor(app, {
      history: false,
      enableEventsIntervalMs: 0,
      inspectTimeoutMs: 300,
      brokerApi: `http://guest:guest@127.0.0.1:${port}/api/`,
    });
    try {
      const read = setUp(managed);
      const first = await read(`?queue=${encodeURIComponent(q.declared)}`);
      expect(first.body.describes).toMatch(/management API/);
      expect(first.body.queues.find((r) => r.name === q.declared)).toMatchObject({
        exists: true,
        ready: 40,
        unacked: 7,
        consumers: 2,
        publishRate: 12.5,
        deliverRate: 3,
      });
      expect(first.body.queues.find((r) => r.name === q.default)).toMatchObject({ exists: false });
      // vhost '/' is %2F in the path; the credentials travel in a Basic header, not the URL.
      expect(seen[0]!.url).toMatch(/^\/api\/queues\/%2F\//);
      expect(seen[0]!.headers.authorization).toBe(`Basic ${Buffer.from('guest:guest').toString('base64')}`);

      healthy = false;
      const fallback = await read(`?queue=${encodeURIComponent(q.declared)}`);
      expect(fallback.status).toBe(200);
      expect(fallback.body.describes).toMatch(/passive declares/);
      const row = fallback.body.queues.find((r) => r.name === q.declared)!;
      expect(row).toMatchObject({ exists: true, ready: 4, unacked: null, consumers: 0 });
      expect(row.publishRate).toBeUndefined();
    } finally {
      await managed.stop();
      await new Promise((r) => api.close(r));
    }
  });

  it('refuses a name that is not a queue name', async () => {
    const { status, body } = await queues(`?queue=${encodeURIComponent('bad\u0001name')}`);
    expect(status).toBe(400);
    expect(body.error?.code).toBe('bad_request');
  });
});

await describeWith(['redis'], 'queues API on Redis (priority lists and the unacked hash)', () => {
  const prefix = uniqueName('h2r');
  const queue = `${prefix}-jobs`;
  // A key prefix of our own: the `unacked` hash holds only this test's deliveries.
  const brokerOptions = { globalKeyprefix: `${prefix}:` };
  let app: Celeriac;
  let consumerApp: Celeriac;
  let monitor: Monitor;
  let queues: ReturnType<typeof setUp>;
  const held: Delivery[] = [];

  beforeAll(async () => {
    app = new Celeriac({ broker: SERVICES.redis.url, brokerOptions, defaultQueue: queue });
    consumerApp = new Celeriac({ broker: SERVICES.redis.url, brokerOptions, defaultQueue: queue });
    for (let i = 0; i < 5; i++)
      await app.sendTask('tasks.nobody', [i], {}, { queue, priority: i % 2 ? 9 : 0 });
    monitor = new Monitor(app, { history: false, enableEventsIntervalMs: 0, inspectTimeoutMs: 200 });
    queues = setUp(monitor);
  });

  afterAll(async () => {
    for (const d of held) d.ack();
    await monitor?.stop();
    await (await app.connection()).purge(queue).catch(() => undefined);
    await consumerApp?.close();
    await app?.close();
  });

  it('counts every priority list, then splits out the deliveries a consumer holds unacked', async () => {
    const first = await queues();
    expect(first.status).toBe(200);
    expect(first.body.broker).toBe('redis');
    expect(first.body.queues.find((r) => r.name === queue)).toMatchObject({
      exists: true,
      ready: 5,
      unacked: 0,
      consumers: null,
      sources: ['default'],
    });

    const transport = await consumerApp.connection();
    const consumer = await transport.consume([queue], { prefetch: 2 }, (d) => held.push(d));
    await waitFor(() => held.length === 2, 10_000, 'two deliveries');
    const holding = await queues();
    expect(holding.body.queues.find((r) => r.name === queue)).toMatchObject({ ready: 3, unacked: 2 });
    await consumer.cancel();

    for (const d of held.splice(0)) d.ack();
    const acked = await waitFor(async () => {
      const row = (await queues()).body.queues.find((r) => r.name === queue);
      return row?.unacked === 0 ? row : undefined;
    });
    expect(acked.ready).toBe(3);
  });

  it('turns samples a few seconds apart into a backlog trend', async () => {
    await queues();
    for (let i = 0; i < 6; i++) await app.sendTask('tasks.nobody', [i], {}, { queue });
    const row = await waitFor(
      async () => {
        const r = (await queues()).body.queues.find((x) => x.name === queue);
        return r && r.trend !== null ? r : undefined;
      },
      15_000,
      'a trend',
    );
    expect(row.trend).toBeGreaterThan(0);
    expect(row.trendSeconds).toBeGreaterThanOrEqual(2);
  });
});

describe('queues with a broker that does not answer', () => {
  it('answers 503 with the reason, and the page says so instead of failing', async () => {
    // Nothing listens on port 1; one retry, so the connection gives up and app.close() returns.
    const app = new Celeriac({ broker: 'redis://127.0.0.1:1/0', brokerConnectionMaxRetries: 1 });
    const monitor = new Monitor(app, { history: false, enableEventsIntervalMs: 0, inspectTimeoutMs: 100 });
    const web = createMonitorApp(monitor, { auth: { apiTokens: [TOKEN], insecureNoAuth: true } });
    try {
      const res = await web.request('/api/queues', { headers: bearer });
      expect(res.status).toBe(503);
      const body = (await res.json()) as { error: { code: string; message: string } };
      expect(body.error.code).toBe('broker_unavailable');
      expect(body.error.message).toMatch(/^queue counts unavailable: /);
      const page = await web.request('/queues');
      expect(page.status).toBe(503);
      expect(await page.text()).toMatch(/id="queues-problem"[^>]*>queue counts unavailable/);
    } finally {
      await monitor.stop();
      await app.close();
    }
  }, 20_000);
});
