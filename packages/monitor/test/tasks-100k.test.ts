import { existsSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { serve, type ServerType } from '@hono/node-server';
import { Celeriac } from 'celeriac';
import { chromium, type Browser, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Monitor } from '../src/monitor.ts';
import { createMonitorApp } from '../src/server/app.ts';

const CHROMIUM = '/usr/bin/chromium';
const TASKS = 100_000;

/**
 * The Tasks page with 100,000 tasks in memory (Flower's default `max_tasks`), in Chromium.
 * Prints how long each page takes (server time, DOM ready, load) for the report; asserts only
 * what is on the page, never the time (a shared 2-core box is too noisy for that).
 */
describe.skipIf(!existsSync(CHROMIUM))('Tasks page with 100,000 tasks', () => {
  let app: Celeriac;
  let monitor: Monitor;
  let server: ServerType;
  let url: string;
  let browser: Browser;
  let page: Page;

  beforeAll(async () => {
    app = new Celeriac({ broker: 'memory://' });
    monitor = new Monitor(app, { history: false, enableEventsIntervalMs: 0 });
    const web = createMonitorApp(monitor, { auth: { insecureNoAuth: true } });
    const started = performance.now();
    const now = Date.now() / 1000 - TASKS / 100;
    for (let i = 0; i < TASKS; i++) {
      const at = now + i / 100;
      const uuid = `task-${String(i).padStart(6, '0')}`;
      monitor.onEvent({
        type: 'task-received',
        uuid,
        name: `tasks.job${i % 20}`,
        args: `(${i}, '<b>${i}</b>')`,
        kwargs: '{}',
        hostname: `w${i % 4}@bench`,
        timestamp: at,
      });
      monitor.onEvent({
        type: i % 50 === 0 ? 'task-failed' : 'task-succeeded',
        uuid,
        result: String(i),
        exception: 'ValueError()',
        runtime: (i % 997) / 1000,
        hostname: `w${i % 4}@bench`,
        timestamp: at + 0.5,
      });
    }
    console.log(`100k: fed ${TASKS * 2} events in ${Math.round(performance.now() - started)} ms`);
    server = await new Promise<ServerType>((resolve) => {
      const s = serve({ fetch: web.fetch, port: 0, hostname: '127.0.0.1' }, () => resolve(s));
    });
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking'],
    });
    page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
  }, 120_000);

  afterAll(async () => {
    await browser?.close();
    await new Promise((resolve) => server?.close(resolve));
    await monitor?.stop();
    await app?.close();
  });

  /** Navigation timing of the current page, in ms. */
  const timing = () =>
    page.evaluate(() => {
      const nav = performance.getEntriesByType('navigation')[0] as PerformanceNavigationTiming;
      return {
        server: Math.round(nav.responseStart - nav.requestStart),
        domReady: Math.round(nav.domContentLoadedEventEnd - nav.startTime),
        load: Math.round(nav.loadEventEnd - nav.startTime),
        bytes: nav.transferSize,
      };
    });

  it.each([100, 1000])('renders the first page of %i rows', async (limit) => {
    expect(monitor.state.taskCount).toBe(TASKS);
    await page.goto(`${url}/tasks?limit=${limit}`, { waitUntil: 'load' });
    expect(await page.locator('#tasks tbody tr').count()).toBe(limit);
    await expect(page.locator('#pager').textContent()).resolves.toContain('100,000');
    await expect(page.locator('select[name=limit] option[selected]').textContent()).resolves.toBe(
      String(limit),
    );
    // Newest first, and task data stays text.
    await expect(page.locator('#tasks tbody tr').first().getAttribute('data-uuid')).resolves.toBe(
      'task-099999',
    );
    expect(await page.locator('#tasks b').count()).toBe(0);
    const t = await timing();
    console.log(
      `100k: /tasks?limit=${limit}: server ${t.server} ms, DOM ready ${t.domReady} ms, load ${t.load} ms, ${t.bytes} bytes`,
    );
  });

  it('keeps a live page at its size while new tasks arrive', async () => {
    await page.goto(`${url}/tasks?limit=100`);
    await page.waitForSelector('#live-status.on');
    for (let i = 0; i < 300; i++) {
      monitor.onEvent({
        type: 'task-received',
        uuid: `new-${i}`,
        name: 'tasks.new',
        hostname: 'w0@bench',
        timestamp: Date.now() / 1000,
      });
    }
    await page.locator('#tasks tr[data-uuid="new-299"]').waitFor();
    expect(await page.locator('#tasks tbody tr').count()).toBe(100);
    await expect(page.locator('#tasks tbody tr').first().getAttribute('data-uuid')).resolves.toBe('new-299');
  });

  it('serves the dashboard and its stats', async () => {
    const started = performance.now();
    await page.goto(`${url}/`, { waitUntil: 'load' });
    await page.locator('figure[data-chart="runtimes"] svg.runtime-chart').waitFor();
    console.log(
      `100k: dashboard with charts in ${Math.round(performance.now() - started)} ms (${JSON.stringify(await timing())})`,
    );
    expect(await page.locator('figure[data-chart="runtimes"] table.runtimes tbody tr').count()).toBe(20);
  });
});
