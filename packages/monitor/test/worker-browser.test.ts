import { existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Celeriac, Worker } from 'celeriac';
import { chromium, type Browser, type Page } from 'playwright-core';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { describeWith, SERVICES, uniqueName } from '../../celeriac/test/helpers/services.ts';
import { serveMonitor } from '../src/serve.ts';
import { hashPassword } from '../src/server/auth.ts';
import { waitFor } from './helpers.ts';

const CHROMIUM = '/usr/bin/chromium';
const CHROMIUM_ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking'];

/**
 * The worker page in Chromium against RabbitMQ and an in-process Celeriac worker: a running task
 * listed with a link, a rate limit set from the page (with and without script), an offline worker
 * hidden and forgotten.
 */
await describeWith(['rabbitmq'], 'worker page in a browser', () => {
  if (!existsSync(CHROMIUM)) return it.skip(`needs ${CHROMIUM}`);
  const queue = uniqueName('h11-wb');
  const node = `${queue}@test`;
  const gone = `${queue}-gone@test`;
  const dir = mkdtempSync(join(tmpdir(), 'celeriac-monitor-worker-ui-'));
  const dialogs: string[] = [];
  let app: Celeriac;
  let workerApp: Celeriac;
  let worker: Worker;
  let served: Awaited<ReturnType<typeof serveMonitor>>;
  let browser: Browser;
  let page: Page;
  let release: (() => void) | undefined;

  const logIn = async (p: Page) => {
    await p.goto(`${served.url}/login`);
    await p.fill('input[name=username]', 'admin');
    await p.fill('input[name=password]', 'worker-page-pass');
    await Promise.all([p.waitForURL(`${served.url}/`), p.click('button[type=submit]')]);
  };

  /** `SCREENSHOT_DIR=/tmp/shots` saves a picture of the worker page. */
  const shot = async (p: Page, name: string) => {
    const out = process.env.SCREENSHOT_DIR;
    if (!out) return;
    mkdirSync(out, { recursive: true });
    await p.screenshot({ path: join(out, `monitor-${name}.png`), fullPage: true });
  };

  beforeAll(async () => {
    app = new Celeriac({ broker: SERVICES.rabbitmq.url, defaultQueue: queue });
    workerApp = new Celeriac({ broker: SERVICES.rabbitmq.url, defaultQueue: queue });
    // Runs until the test lets it go, so "active" is observed, not raced.
    workerApp.task('tasks.block', (label: string) => new Promise<string>((r) => (release = () => r(label))));
    workerApp.task('tasks.add', (x: number, y: number) => x + y);
    worker = new Worker(workerApp, {
      queues: [queue],
      hostname: node,
      remoteControl: true,
      heartbeat: true,
      sendEvents: true,
      mingle: false,
      concurrency: 2,
    });
    [served, browser] = await Promise.all([
      hashPassword('worker-page-pass').then((hash) =>
        serveMonitor(app, {
          port: 0,
          auth: { users: { admin: hash } },
          history: { url: `sqlite://${join(dir, 'history.db')}` },
          inspectTimeoutMs: 1500,
        }),
      ),
      chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS }),
      worker.start(),
    ]);
    page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
    page.setDefaultTimeout(15_000);
    page.on('dialog', (d) => {
      dialogs.push(d.message());
      void d.accept();
    });
    await logIn(page);
    await waitFor(() => served.monitor.state.isAlive(node), 15_000, `${node} online`);
  }, 30_000);

  afterAll(async () => {
    release?.();
    await worker?.stop();
    await browser?.close();
    await served?.close();
    await (await app.connection()).deleteQueue(queue).catch(() => undefined);
    await workerApp?.close();
    await app?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('lists a running task as active, linking to its page', async () => {
    const result = await app.sendTask('tasks.block', ['<b>hold</b>']);
    await waitFor(() => release, 10_000, 'the task to start');
    await page.goto(`${served.url}/workers`);
    await page.click(`#workers tr[data-hostname="${node}"] a`);
    expect(decodeURIComponent(new URL(page.url()).pathname)).toBe(`/worker/${node}`);
    const row = page.locator(`table[data-list="active"] tr[data-uuid="${result.id}"]`);
    await expect(row.textContent()).resolves.toContain('tasks.block');
    // args are shown as text, never as markup.
    await expect(row.textContent()).resolves.toContain('<b>hold</b>');
    expect(await page.locator('table[data-list="active"] b').count()).toBe(0);
    await shot(page, 'worker');
    await row.locator('a').click();
    expect(new URL(page.url()).pathname).toBe(`/task/${result.id}`);
    release!();
    await waitFor(
      () => served.monitor.state.task(result.id)?.state === 'SUCCESS',
      10_000,
      'the task to finish',
    );
  });

  it('sets a rate limit from the page and shows the worker’s reply next to the form', async () => {
    await page.goto(`${served.url}/worker/${encodeURIComponent(node)}`);
    const form = page.locator('#control-rate-limit');
    await form.locator('select[name=taskname]').selectOption('tasks.add');
    await form.locator('input[name=ratelimit]').fill('7/m');
    await form.locator('button[type=submit]').click();
    await expect
      .poll(() => form.locator('output').textContent())
      .toBe('new rate limit set for tasks.add: 7/m: new rate limit set successfully');
    const info = (await served.monitor.inspect(node)).get(node);
    expect(info?.registered).toContain('tasks.add [rate_limit=7/m]');

    await form.locator('input[name=ratelimit]').fill('fast');
    await form.locator('button[type=submit]').click();
    await expect.poll(() => form.locator('output').textContent()).toContain('ratelimit:');
  });

  it('works without script: a control posts the form and comes back with the reply', async () => {
    const context = await browser.newContext({ javaScriptEnabled: false });
    const plain = await context.newPage();
    try {
      await logIn(plain);
      await plain.goto(`${served.url}/worker/${encodeURIComponent(node)}`);
      const form = plain.locator('#control-time-limit');
      await form.locator('select[name=taskname]').selectOption('tasks.add');
      await form.locator('input[name=soft]').fill('2');
      await form.locator('input[name=hard]').fill('4');
      await Promise.all([
        plain.waitForURL(/control=time-limit/),
        form.locator('button[type=submit]').click(),
      ]);
      await shot(plain, 'worker-no-script');
      await expect(plain.locator('#control-time-limit output').textContent()).resolves.toBe(
        'time limits for tasks.add: soft=2 hard=4: time limits set successfully',
      );
      await expect(
        plain.locator('tr[data-task="tasks.add"] [data-field="time_limit"]').textContent(),
      ).resolves.toBe('4');
    } finally {
      await context.close();
    }
  });

  it('hides offline workers on request and forgets one', async () => {
    const now = Date.now() / 1000;
    served.monitor.onEvent({ type: 'worker-heartbeat', hostname: gone, timestamp: now, freq: 2 });
    served.monitor.onEvent({ type: 'worker-offline', hostname: gone, timestamp: now });
    await page.goto(`${served.url}/workers`);
    await page.locator(`#workers tr[data-hostname="${gone}"]`).waitFor();
    await page.click('#offline-toggle');
    expect(new URL(page.url()).search).toBe('?offline=hide');
    expect(await page.locator(`#workers tr[data-hostname="${gone}"]`).count()).toBe(0);
    expect(await page.locator(`#workers tr[data-hostname="${node}"]`).count()).toBe(1);

    await page.goto(`${served.url}/worker/${encodeURIComponent(gone)}`);
    // Once forgotten its page is gone: the script goes back to the list.
    await Promise.all([
      page.waitForURL(`${served.url}/workers`),
      page.locator('#control-forget button').click(),
    ]);
    expect(dialogs.some((d) => d.startsWith(`Forget ${gone}?`))).toBe(true);
    expect(await page.locator(`#workers tr[data-hostname="${gone}"]`).count()).toBe(0);
    expect(served.monitor.state.getWorker(gone)).toBeUndefined();
    // The online worker has no forget button: it would be back with its next heartbeat.
    await page.goto(`${served.url}/worker/${encodeURIComponent(node)}`);
    expect(await page.locator('#control-forget').count()).toBe(0);
  });
});
