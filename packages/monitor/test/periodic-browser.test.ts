import { existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Beat, Celeriac, LocalLease, SqlScheduleStore } from 'celeriac';
import { chromium, type Browser, type Page } from 'playwright-core';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { describeWith, SERVICES, uniqueName } from '../../celeriac/test/helpers/services.ts';
import { serveMonitor } from '../src/serve.ts';
import { hashPassword } from '../src/server/auth.ts';
import { startCliWorker, type CliWorker } from './helpers.ts';

const CHROMIUM = '/usr/bin/chromium';
const CHROMIUM_ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking'];
const XSS_NAME = 'tick <img src=x onerror="alert(1)">';

/**
 * The Periodic tasks page in Chromium: an entry created in the form is sent by a real Beat on the
 * same SQLite store and run by a real worker process over RabbitMQ, and the monitor sees it run.
 * `SCREENSHOT_DIR=/tmp/shots` saves each page.
 */
await describeWith(['rabbitmq'], 'periodic tasks in a browser', () => {
  if (!existsSync(CHROMIUM)) return it.skip(`needs ${CHROMIUM}`);
  const queue = uniqueName('h1-periodic');
  const dir = mkdtempSync(join(tmpdir(), 'celeriac-monitor-periodic-ui-'));
  const dbUrl = `sqlite://${join(dir, 'beat.db')}`;
  const dialogs: string[] = [];
  let app: Celeriac;
  let store: SqlScheduleStore;
  let beat: Beat;
  let served: Awaited<ReturnType<typeof serveMonitor>>;
  let browser: Browser;
  let page: Page;
  let workerStarting: Promise<CliWorker>;

  beforeAll(async () => {
    app = new Celeriac({ broker: SERVICES.rabbitmq.url, defaultQueue: queue });
    store = new SqlScheduleStore({ url: dbUrl });
    workerStarting = startCliWorker({ broker: SERVICES.rabbitmq.url, queue, node: `${queue}@test` });
    workerStarting.catch(() => undefined); // awaited (and reported) by the test that needs it
    [served, browser] = await Promise.all([
      hashPassword('periodic-pass').then((hash) =>
        serveMonitor(app, {
          port: 0,
          auth: { users: { admin: hash } },
          history: false,
          inspectTimeoutMs: 300,
          schedules: store,
        }),
      ),
      chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS }),
    ]);
    // Beat reads the same tables on its own connection, as `celeriac beat -S db` would.
    beat = new Beat(app, {
      store: new SqlScheduleStore({ url: dbUrl, reloadEveryMs: 300 }),
      lease: new LocalLease(),
      maxLoopIntervalMs: 300,
    });
    await beat.start();
    page = await browser.newPage({ viewport: { width: 1280, height: 1000 } });
    page.on('dialog', (d) => {
      dialogs.push(d.message());
      void d.dismiss();
    });
    page.setDefaultTimeout(15_000);
  });

  afterAll(async () => {
    await beat?.stop();
    await (await workerStarting?.catch(() => undefined))?.stop();
    await browser?.close();
    await served?.close();
    await store?.close();
    await (await app.connection()).deleteQueue(queue).catch(() => undefined);
    await app.close();
    rmSync(dir, { recursive: true, force: true });
  });

  const shot = async (name: string) => {
    const out = process.env.SCREENSHOT_DIR;
    if (!out) return;
    mkdirSync(out, { recursive: true });
    await page.screenshot({ path: join(out, `periodic-${name}.png`), fullPage: true });
  };
  const row = () => page.locator(`#periodic tr[data-periodic="${XSS_NAME.replace(/"/g, '\\"')}"]`);

  it('logs in and lands on the Periodic tasks page', async () => {
    await page.goto(`${served.url}/periodic`);
    await page.fill('input[name=username]', 'admin');
    await page.fill('input[name=password]', 'periodic-pass');
    await Promise.all([page.waitForURL(/\/periodic$/), page.click('button[type=submit]')]);
    await page.locator('#periodic-empty').waitFor();
    await expect(page.locator('nav a.active').textContent()).resolves.toBe('Periodic tasks');
  });

  it('shows the field error for an invalid crontab, keeps the other inputs and saves nothing', async () => {
    await page.click('#periodic-new');
    await page.fill('input[name=name]', 'bad cron');
    await page.fill('input[name=task]', 'tasks.add');
    await page.selectOption('select[name=schedule_type]', 'crontab');
    await page.fill('input[name=minute]', '61');
    await page.fill('input[name=hour]', '*/0');
    await Promise.all([page.waitForLoadState('domcontentloaded'), page.click('#periodic-save')]);
    await expect(page.locator('.field-error[data-field="minute"]').textContent()).resolves.toMatch(
      /61 is out of range/,
    );
    await expect(page.locator('.field-error[data-field="hour"]').textContent()).resolves.toMatch(/step "0"/);
    await expect(page.inputValue('input[name=name]')).resolves.toBe('bad cron');
    await expect(page.inputValue('input[name=minute]')).resolves.toBe('61');
    await shot('invalid');
    expect(await store.load()).toEqual([]);
  });

  it('keeps the plain-words preview live while the crontab is typed', async () => {
    await page.fill('input[name=minute]', '*/15');
    await page.fill('input[name=hour]', '*');
    await expect.poll(() => page.locator('#schedule-preview').textContent()).toBe('every 15 minutes');
    await page.fill('input[name=minute]', '61');
    await expect
      .poll(() => page.locator('#schedule-preview').textContent())
      .toMatch(/minute: .*61 is out of range/);
  });

  it('previews a crontab in plain words', async () => {
    await page.fill('input[name=minute]', '30');
    await page.fill('input[name=hour]', '7');
    await page.fill('input[name=day_of_week]', 'mon');
    await Promise.all([page.waitForLoadState('domcontentloaded'), page.click('#periodic-preview')]);
    await expect(page.locator('#schedule-preview').textContent()).resolves.toBe('every Monday at 07:30');
  });

  it('creates an interval entry whose name holds HTML; beat sends it, the worker runs it, the monitor sees it', async () => {
    await page.goto(`${served.url}/periodic/new`);
    await page.fill('input[name=name]', XSS_NAME);
    await page.fill('input[name=task]', 'tasks.add');
    await page.selectOption('select[name=schedule_type]', 'interval');
    await page.fill('input[name=every]', '1');
    await page.selectOption('select[name=period]', 'seconds');
    await page.fill('input[name=args]', '[20, 22]');
    await Promise.all([page.waitForURL(/done=created/), page.click('#periodic-save')]);
    await expect(row().locator('[data-field=schedule]').textContent()).resolves.toBe('every second');
    expect(await page.locator('main img').count()).toBe(0);

    await workerStarting;
    // Beat picks the new row up on its next reload and sends it every second.
    await expect
      .poll(
        async () => {
          await page.reload();
          return Number(await row().locator('[data-field=total_run_count]').textContent());
        },
        { timeout: 20_000, interval: 500 },
      )
      .toBeGreaterThanOrEqual(2);
    await expect(row().locator('[data-field=last_run_at]').textContent()).resolves.not.toBe('—');
    await shot('list');
    const ran = () =>
      [...served.monitor.state.tasksNewestFirst()].find(
        (t) => t.name === 'tasks.add' && t.state === 'SUCCESS',
      );
    await expect.poll(() => ran()?.result, { timeout: 15_000 }).toBe('42');

    await page.goto(`${served.url}/tasks`);
    await page.locator('#tasks tr [data-field=name]', { hasText: 'tasks.add' }).first().waitFor();
    expect(dialogs).toEqual([]);
  });

  it('run now sends the task at once and links to it', async () => {
    await page.goto(`${served.url}/periodic`);
    await Promise.all([page.waitForURL(/done=ran/), row().locator('button[data-action=run]').click()]);
    const link = page.locator('#periodic-notice a');
    const id = (await link.textContent())!;
    await expect.poll(() => served.monitor.state.task(id)?.state, { timeout: 15_000 }).toBe('SUCCESS');
    await Promise.all([page.waitForURL(new RegExp(`/task/${id}$`)), link.click()]);
  });

  it('refuses a change without the CSRF token; disabling with the form stops it', async () => {
    await page.goto(`${served.url}/periodic`);
    const status = await page.evaluate(
      async (name) =>
        (await fetch(`/periodic/${encodeURIComponent(name)}/delete`, { method: 'POST' })).status,
      XSS_NAME,
    );
    expect(status).toBe(403);
    expect((await store.load()).map((s) => s.entry.name)).toEqual([XSS_NAME]);

    await Promise.all([
      page.waitForURL(/done=disabled/),
      row().locator('button[data-action=disable]').click(),
    ]);
    await expect(row().locator('[data-field=enabled]').innerText()).resolves.toBe('no');
    await shot('disabled');
    expect(dialogs).toEqual([]);
  });
});
