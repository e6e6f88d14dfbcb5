import { existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Celeriac } from 'celeriac';
import { chromium, type Browser, type Page } from 'playwright-core';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { describeWith, SERVICES, uniqueName } from '../../celeriac/test/helpers/services.ts';
import { serveMonitor } from '../src/serve.ts';
import { hashPassword } from '../src/server/auth.ts';
import { startCliWorker, waitFor, type CliWorker } from './helpers.ts';

const CHROMIUM = '/usr/bin/chromium';
const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];
const XSS = '<img src=x onerror="alert(1)">';

/**
 * The monitor end to end in Debian's Chromium against RabbitMQ and a real worker process.
 * `SCREENSHOT_DIR=/tmp/shots` saves a picture of each page.
 */
await describeWith(['rabbitmq'], 'monitor in a browser', () => {
  if (!existsSync(CHROMIUM)) return it.skip(`needs ${CHROMIUM}`);
  const queue = uniqueName('h13-ui');
  const node = `${queue}@test`;
  const dir = mkdtempSync(join(tmpdir(), 'celeriac-monitor-ui-'));
  const dialogs: string[] = [];
  let app: Celeriac;
  let served: Awaited<ReturnType<typeof serveMonitor>>;
  let browser: Browser;
  let page: Page;
  let worker: CliWorker | undefined;
  // The worker boots (a few seconds of tsx) while the log-in test runs; the dashboard then sees it.
  let workerStarting: Promise<CliWorker>;

  beforeAll(async () => {
    app = new Celeriac({ broker: SERVICES.rabbitmq.url, defaultQueue: queue });
    [served, browser] = await Promise.all([
      hashPassword('s3cret-pass').then((hash) =>
        serveMonitor(app, {
          port: 0,
          auth: { users: { admin: hash } },
          history: { url: `sqlite://${join(dir, 'history.db')}` },
        }),
      ),
      chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS }),
    ]);
    workerStarting = startCliWorker({ broker: SERVICES.rabbitmq.url, queue, node });
    workerStarting.catch(() => undefined); // awaited (and reported) by the dashboard test
    page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
    page.on('dialog', (d) => {
      dialogs.push(d.message());
      void d.dismiss();
    });
    page.setDefaultTimeout(15_000);
  });

  afterAll(async () => {
    worker ??= await workerStarting?.catch(() => undefined);
    await worker?.stop();
    await browser?.close();
    await served?.close();
    await (await app.connection()).deleteQueue(queue).catch(() => undefined);
    await app.close();
    rmSync(dir, { recursive: true, force: true });
  });

  const shot = async (name: string) => {
    const out = process.env.SCREENSHOT_DIR;
    if (!out) return;
    mkdirSync(out, { recursive: true });
    await page.screenshot({ path: join(out, `monitor-${name}.png`), fullPage: true });
  };

  it('asks for a log-in, refuses a wrong password, then lets the user in', async () => {
    await page.goto(`${served.url}/workers`);
    expect(new URL(page.url()).pathname).toBe('/login');
    await page.fill('input[name=username]', 'admin');
    await page.fill('input[name=password]', 'wrong');
    await Promise.all([page.waitForLoadState('domcontentloaded'), page.click('button[type=submit]')]);
    await expect(page.locator('.error').textContent()).resolves.toContain('Wrong user name or password');
    await shot('login');
    await page.fill('input[name=username]', 'admin');
    await page.fill('input[name=password]', 's3cret-pass');
    await Promise.all([page.waitForURL(/\/workers$/), page.click('button[type=submit]')]);
    await page.goto(`${served.url}/`);
    await page.waitForSelector('#live-status.on');
  });

  it('shows a worker come online live on the dashboard', async () => {
    worker = await workerStarting;
    const status = page.locator(`#workers tr[data-hostname="${node}"] [data-field=status]`);
    await status.waitFor();
    await expect.poll(() => status.textContent(), { timeout: 10_000 }).toBe('online');
    await expect.poll(() => page.locator('#workers-online').textContent()).not.toBe('0');
    await shot('dashboard');
  });

  it('shows a task appear and finish live on the Tasks page, its data escaped', async () => {
    await page.goto(`${served.url}/tasks`);
    await page.waitForSelector('#live-status.on');
    const result = await app.sendTask('tasks.echo', [XSS]);
    const row = page.locator(`#tasks tr[data-uuid="${result.id}"]`);
    await row.waitFor();
    await expect
      .poll(() => row.locator('[data-field=state]').textContent(), { timeout: 10_000 })
      .toBe('SUCCESS');
    await expect(row.locator('[data-field=name]').textContent()).resolves.toBe('tasks.echo');
    await expect(row.locator('[data-field=args]').textContent()).resolves.toContain(XSS);
    expect(await page.locator('#tasks img').count()).toBe(0);
    await shot('tasks');

    await page.goto(`${served.url}/task/${result.id}`);
    await expect(page.locator('pre[data-field=args]').textContent()).resolves.toContain(XSS);
    expect(await page.locator('main img').count()).toBe(0);
    expect(dialogs).toEqual([]);
  });

  it('revokes a running task from its page (the CSRF token travels with the request)', async () => {
    const result = await app.sendTask('tasks.sleep', [60_000]);
    await waitFor(() => served.monitor.state.task(result.id), 10_000, 'the task to be seen');
    await page.goto(`${served.url}/task/${result.id}`);
    await expect
      .poll(() => page.locator('span[data-field=state]').textContent(), { timeout: 10_000 })
      .toBe('STARTED');
    await page.check('input[name=terminate]');
    await page.click('form.control button');
    await expect
      .poll(() => page.locator('form.control output').textContent())
      .toBe(`Revoked '${result.id}' (terminate)`);
    await expect
      .poll(() => page.locator('span[data-field=state]').textContent(), { timeout: 10_000 })
      .toBe('REVOKED');
    await page.locator('#timeline tr[data-key^="task-revoked@"]').waitFor();
    await shot('task-detail');
  });

  it('lists the worker with its pool, queues and registered tasks', async () => {
    await page.goto(`${served.url}/workers`);
    const section = page.locator(`section.worker[data-hostname="${node}"]`);
    await expect(section.textContent()).resolves.toContain(queue);
    await expect(section.textContent()).resolves.toContain('tasks.echo');
    await shot('workers');
  });
});
