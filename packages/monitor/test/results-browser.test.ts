import { existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Celeriac, type ResultBackend } from 'celeriac';
import { chromium, type Browser, type Page } from 'playwright-core';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { describeWith, SERVICES, uniqueName } from '../../celeriac/test/helpers/services.ts';
import { serveMonitor } from '../src/serve.ts';
import { hashPassword } from '../src/server/auth.ts';

const CHROMIUM = '/usr/bin/chromium';
const CHROMIUM_ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking'];
const XSS = '<img src=x onerror="alert(1)"><script>alert(2)</script>';

/**
 * The Queues and Results pages in Debian's Chromium: RabbitMQ for the queues, an SQLite result
 * backend for the results. `SCREENSHOT_DIR=/tmp/shots` saves each page.
 */
await describeWith(['rabbitmq'], 'Queues and Results pages in a browser', () => {
  if (!existsSync(CHROMIUM)) return it.skip(`needs ${CHROMIUM}`);
  const prefix = uniqueName('h2ui');
  const declared = `${prefix}-jobs`;
  const missing = `${prefix}-missing`;
  const dir = mkdtempSync(join(tmpdir(), 'celeriac-results-ui-'));
  const dialogs: string[] = [];
  let app: Celeriac;
  let served: Awaited<ReturnType<typeof serveMonitor>>;
  let browser: Browser;
  let page: Page;

  beforeAll(async () => {
    app = new Celeriac({
      broker: SERVICES.rabbitmq.url,
      backend: `sqlite://${join(dir, 'results.db')}`,
      defaultQueue: declared,
      queues: [{ name: declared }],
    });
    for (let i = 0; i < 2; i++) await app.sendTask('tasks.nobody', [i]);
    const backend = (await app.backend()) as ResultBackend;
    const base = { children: [], date_done: null, traceback: null, worker: 'celery@ui', kwargs: {} };
    await backend.store(
      { ...base, task_id: 'plain-1', status: 'SUCCESS', result: 42, name: 'tasks.add', args: [40, 2] },
      {},
    );
    await backend.store(
      { ...base, task_id: 'evil-1', status: 'SUCCESS', result: XSS, name: 'tasks.evil', args: [XSS] },
      {},
    );
    [served, browser] = await Promise.all([
      hashPassword('ui-pass').then((hash) =>
        serveMonitor(app, {
          port: 0,
          auth: { users: { admin: hash } },
          history: false,
          enableEventsIntervalMs: 0,
        }),
      ),
      chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS }),
    ]);
    page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
    page.on('dialog', (d) => {
      dialogs.push(d.message());
      void d.dismiss();
    });
    page.setDefaultTimeout(15_000);
    await page.goto(`${served.url}/login?next=%2Fqueues`);
    await page.fill('input[name=username]', 'admin');
    await page.fill('input[name=password]', 'ui-pass');
    await Promise.all([page.waitForURL(/\/queues$/), page.click('button[type=submit]')]);
  }, 30_000);

  afterAll(async () => {
    await browser?.close();
    await served?.close();
    await (await app.connection()).deleteQueue(declared).catch(() => undefined);
    await app?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  const shot = async (name: string) => {
    const out = process.env.SCREENSHOT_DIR;
    if (!out) return;
    mkdirSync(out, { recursive: true });
    await page.screenshot({ path: join(out, `monitor-${name}.png`), fullPage: true });
  };

  it('shows queue lengths, and a queue added by name that does not exist', async () => {
    const row = page.locator(`tr[data-queue="${declared}"]`);
    await expect.poll(() => row.locator('[data-field=ready]').textContent()).toBe('2');
    await expect(row.locator('[data-field=consumers]').textContent()).resolves.toBe('0');
    await expect(page.locator('nav a.active').textContent()).resolves.toBe('Queues');

    await page.fill('form.filters input[name=queue]:not([type=hidden])', missing);
    await Promise.all([page.waitForURL(/queue=/), page.click('form.filters button[type=submit]')]);
    const gone = page.locator(`tr[data-queue="${missing}"]`);
    await expect(gone.getAttribute('data-exists')).resolves.toBe('false');
    await expect(gone.textContent()).resolves.toContain('does not exist');
    // The page still answers after the broker refused the passive declare.
    await expect(page.locator(`tr[data-queue="${declared}"] [data-field=ready]`).textContent()).resolves.toBe(
      '2',
    );
    await shot('queues');

    // The page's script (client/pages/queues.ts) refreshes the counts without a reload.
    await app.sendTask('tasks.nobody', [3]);
    await expect
      .poll(() => page.locator(`tr[data-queue="${declared}"] [data-field=ready]`).textContent(), {
        timeout: 15_000,
      })
      .toBe('3');
    await expect(page.locator('#queues-source').textContent()).resolves.toMatch(/updated every 5 s/);
  });

  it('lists stored results with the XSS payload inert, opens one and deletes it', async () => {
    await page.goto(`${served.url}/results`);
    await expect(page.locator('#results-total').textContent()).resolves.toBe('2 results');
    const evil = page.locator('tr[data-task-id="evil-1"]');
    await expect(evil.locator('[data-field=args]').textContent()).resolves.toContain('<img src=x');
    await expect(page.locator('tr[data-task-id="plain-1"] [data-field=state]').textContent()).resolves.toBe(
      'SUCCESS',
    );
    await shot('results');

    await Promise.all([page.waitForURL(/\/results\/evil-1$/), evil.locator('a').click()]);
    await expect(page.locator('pre[data-field=result]').textContent()).resolves.toBe(XSS);
    expect(await page.locator('main img, main script').count()).toBe(0);
    await shot('result-detail');

    await Promise.all([page.waitForURL(/\/results\?deleted=evil-1$/), page.click('#delete-result')]);
    await expect(page.locator('p.notice').textContent()).resolves.toBe('Deleted result evil-1.');
    expect(await page.locator('tr[data-task-id="evil-1"]').count()).toBe(0);
    await expect(page.locator('#results-total').textContent()).resolves.toBe('1 result');
    expect(dialogs).toEqual([]);
  });
});
