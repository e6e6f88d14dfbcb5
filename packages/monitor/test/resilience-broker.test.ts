import { existsSync } from 'node:fs';
import { Celeriac } from 'celeriac';
import { chromium, type Browser } from 'playwright-core';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { EventDispatcher } from '../../celeriac/src/events/dispatcher.ts';
import {
  describeWith,
  SERVICES,
  uniqueName,
  type ServiceName,
} from '../../celeriac/test/helpers/services.ts';
import { TcpProxy } from '../../celeriac/test/reliability/tcp-proxy.ts';
import { silentLogger as silent } from '../../celeriac/src/util/logger.ts';
import { Monitor } from '../src/monitor.ts';
import { serveMonitor } from '../src/serve.ts';
import { createMonitorApp } from '../src/server/app.ts';
import type { MonitorStatus } from '../src/server/status-api.ts';
import { waitFor } from './helpers.ts';

const CHROMIUM = '/usr/bin/chromium';
const CHROMIUM_ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking'];

interface Broker {
  service: ServiceName;
  viaProxy: (port: number) => string;
  direct: string;
  brokerOptions: Record<string, unknown>;
}

/**
 * The broker goes away under the monitor (a TCP proxy of the test's own drops its connections and
 * refuses new ones) and comes back: the API, the pages, /metrics and the live stream say so, and
 * events flow again without anyone restarting anything. Events come from a real `EventDispatcher`
 * on a connection that bypasses the proxy.
 */
function brokerGoneSuite(broker: Broker): void {
  const target = SERVICES[broker.service];
  let proxy: TcpProxy;
  let app: Celeriac;
  let producerApp: Celeriac;
  let producer: EventDispatcher;
  let monitor: Monitor;
  let web: ReturnType<typeof createMonitorApp>;
  const sse: string[] = [];
  let sseAbort: AbortController;
  let n = 0;

  const status = async () => (await (await web.request('/api/status')).json()) as MonitorStatus;
  /** Sends a task event until the monitor has seen one: events are best-effort while links settle. */
  const eventFlows = async (timeoutMs = 20_000) => {
    const uuid = `${broker.service}-flow-${++n}-${process.pid}`;
    await waitFor(
      () => {
        producer.send('task-received', { uuid, name: 'tasks.flow', args: '()', kwargs: '{}' });
        return monitor.state.task(uuid);
      },
      timeoutMs,
      `event ${uuid} to reach the monitor`,
    );
  };

  beforeAll(async () => {
    proxy = await TcpProxy.start({ host: target.host, port: target.port });
    app = new Celeriac({
      broker: broker.viaProxy(proxy.port),
      brokerOptions: { ...broker.brokerOptions, reconnectMaxDelayMs: 500 },
      logger: silent,
    });
    monitor = new Monitor(app, { history: false, enableEventsIntervalMs: 0 });
    await monitor.start();
    web = createMonitorApp(monitor, { auth: { insecureNoAuth: true } });
    producerApp = new Celeriac({
      broker: broker.direct,
      brokerOptions: broker.brokerOptions,
      logger: silent,
    });
    producer = new EventDispatcher(await producerApp.connection(), {
      hostname: `celery@${uniqueName('h4-producer')}`,
      logger: producerApp.logger,
      flushIntervalMs: 20,
    });
    await producer.start();
    // The live stream, read in the background as a browser would.
    sseAbort = new AbortController();
    const response = await web.request('/api/events', { signal: sseAbort.signal });
    void (async () => {
      const decoder = new TextDecoder();
      for await (const chunk of response.body as unknown as AsyncIterable<Uint8Array>)
        sse.push(decoder.decode(chunk));
    })().catch(() => undefined);
  });

  afterAll(async () => {
    sseAbort?.abort();
    proxy?.up();
    await producer?.close();
    await monitor?.stop().catch(() => undefined);
    await app?.close().catch(() => undefined);
    await producerApp?.close().catch(() => undefined);
    await proxy?.close();
  });

  it('reports a connected broker, and events flow', async () => {
    await eventFlows();
    expect((await status()).broker).toMatchObject({ state: 'connected', outages: 0 });
    expect(await (await web.request('/metrics')).text()).toContain('celeriac_monitor_broker_connected 1');
    await waitFor(() => sse.join('').includes('"state":"connected"'), 5_000, 'the broker event on SSE');
    const page = await (await web.request('/')).text();
    expect(page).toMatch(/<p[^>]*id="broker-banner"[^>]*hidden/);
  });

  it('says "broker unreachable since …, retrying" when the connection drops: API, page, metrics, SSE', async () => {
    const before = Date.now() / 1000;
    proxy.down();
    const down = await waitFor(
      async () => {
        const s = await status();
        return s.broker.state === 'unreachable' ? s : undefined;
      },
      10_000,
      'the monitor to notice',
    );
    expect(down.broker.since).toBeGreaterThanOrEqual(before - 1);
    expect(down.broker.outages).toBe(1);
    const page = await (await web.request('/tasks')).text();
    const banner = /<p[^>]*id="broker-banner"[^>]*>([\s\S]*?)<\/p>/.exec(page);
    expect(banner?.[0]).not.toMatch(/\shidden/);
    expect(banner?.[1]).toMatch(/Broker unreachable since \d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d+ UTC, retrying/);
    expect(await (await web.request('/metrics')).text()).toContain('celeriac_monitor_broker_connected 0');
    await waitFor(() => sse.join('').includes('"state":"unreachable"'), 5_000, 'unreachable on SSE');
    // Still down a moment later: it keeps retrying, and says so.
    await new Promise((r) => setTimeout(r, 1_000));
    expect((await status()).broker.state).toBe('unreachable');
    expect(proxy.refused).toBeGreaterThan(0);
  });

  it('recovers by itself when the broker is back: banner gone, events flow again', async () => {
    const sseBefore = sse.join('').length;
    proxy.up();
    await waitFor(async () => (await status()).broker.state === 'connected', 15_000, 'reconnection');
    await eventFlows();
    const page = await (await web.request('/tasks')).text();
    expect(page).toMatch(/<p[^>]*id="broker-banner"[^>]*hidden/);
    expect(sse.join('').slice(sseBefore)).toContain('"state":"connected"');
    expect((await status()).broker.outages).toBe(1);
  });
}

await describeWith(['rabbitmq'], 'monitor when RabbitMQ goes away and comes back', () => {
  brokerGoneSuite({
    service: 'rabbitmq',
    viaProxy: (port) => `amqp://guest:guest@127.0.0.1:${port}//`,
    direct: SERVICES.rabbitmq.url,
    brokerOptions: {},
  });
});

await describeWith(['redis'], 'monitor when Redis goes away and comes back', () => {
  const brokerOptions = { globalKeyprefix: `${uniqueName('h4-gone')}:` };
  brokerGoneSuite({
    service: 'redis',
    viaProxy: (port) => `redis://127.0.0.1:${port}/0`,
    direct: `${SERVICES.redis.url}/0`,
    brokerOptions,
  });
});

await describeWith(['rabbitmq'], 'the broker banner in a browser', () => {
  if (!existsSync(CHROMIUM)) return it.skip(`needs ${CHROMIUM}`);
  let proxy: TcpProxy;
  let app: Celeriac;
  let served: Awaited<ReturnType<typeof serveMonitor>>;
  let browser: Browser;

  beforeAll(async () => {
    proxy = await TcpProxy.start({ host: SERVICES.rabbitmq.host, port: SERVICES.rabbitmq.port });
    app = new Celeriac({
      broker: `amqp://guest:guest@127.0.0.1:${proxy.port}//`,
      brokerOptions: { reconnectMaxDelayMs: 500 },
      logger: silent,
    });
    [served, browser] = await Promise.all([
      serveMonitor(app, {
        port: 0,
        auth: { insecureNoAuth: true },
        history: false,
        enableEventsIntervalMs: 0,
      }),
      chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS }),
    ]);
  });

  afterAll(async () => {
    proxy?.up();
    await browser?.close();
    await served?.close();
    await app?.close().catch(() => undefined);
    await proxy?.close();
  });

  it('shows the banner live when the broker goes, and hides it when it is back', async () => {
    const page = await browser.newPage();
    page.setDefaultTimeout(15_000);
    await page.goto(`${served.url}/tasks`);
    await page.waitForSelector('#live-status.on');
    const banner = page.locator('#broker-banner');
    expect(await banner.isVisible()).toBe(false);

    proxy.down();
    await banner.waitFor({ state: 'visible' });
    await expect(banner.textContent()).resolves.toMatch(/Broker unreachable since .* UTC, retrying/);

    // A page loaded during the outage shows it too, without waiting for the live stream.
    const second = await browser.newPage();
    await second.route('**/static/**', (route) => route.abort()); // no script: server-rendered only
    await second.goto(`${served.url}/`);
    expect(await second.locator('#broker-banner').isVisible()).toBe(true);
    await second.close();

    proxy.up();
    await banner.waitFor({ state: 'hidden', timeout: 20_000 });
    await page.close();
  });
});
