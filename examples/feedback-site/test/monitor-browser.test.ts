import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { chromium, type Browser, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CHROMIUM, CHROMIUM_ARGS, chromiumAvailable, startTestSite, type TestSite } from './helpers.ts';

/**
 * The monitor inside the embedded site, in Debian's Chromium: reached from the site's nav, it shows
 * the site's worker online and the task the Add page sent; a periodic task created on its Periodic
 * tasks page is run by the site's beat and its result shows on the site's Tasks page.
 * No MONITOR_USER here: on 127.0.0.1 the monitor runs without a log-in (monitor-http.test.ts logs in).
 */
describe.skipIf(!chromiumAvailable())('the monitor inside the feedback site, in a browser', () => {
  let t: TestSite;
  let browser: Browser;
  let page: Page;
  const dialogs: string[] = [];
  const errors: string[] = [];

  beforeAll(async () => {
    [t, browser] = await Promise.all([
      // The code's periodic task every minute: it stays out of the way of the one made in the monitor.
      startTestSite({ beatAddEvery: '60s' }),
      chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS }),
    ]);
    page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
    page.on('dialog', (d) => {
      dialogs.push(d.message());
      void d.dismiss();
    });
    page.on('pageerror', (e) => errors.push(e.message));
    page.setDefaultTimeout(15_000);
  });
  afterAll(async () => {
    await browser?.close();
    await t?.cleanup();
  });

  const url = (path: string) => t.site.url + path;
  const shot = async (name: string) => {
    const dir = process.env.SCREENSHOT_DIR;
    if (!dir) return;
    mkdirSync(dir, { recursive: true });
    await page.screenshot({ path: join(dir, `monitor-${name}.png`), fullPage: true });
  };

  it("follows the site's Monitor link and sees the embedded worker online", async () => {
    await page.goto(url('/'));
    await Promise.all([page.waitForURL(/\/monitor\/?$/), page.click('nav a:text-is("Monitor")')]);
    const status = page.locator('tr[data-hostname="celery@feedback-site"] [data-field=status]').first();
    await expect.poll(() => status.textContent(), { timeout: 15_000 }).toBe('online');
    await shot('dashboard');
  });

  it('shows the task the Add page sent, with its name, arguments and state', async () => {
    await page.goto(url('/add'));
    await page.fill('#f-x', '4');
    await page.fill('#f-y', '1');
    await page.click('button[type=submit]');
    await page.waitForURL(/\/tasks\/[0-9a-f-]{36}/);
    const id = /\/tasks\/([0-9a-f-]{36})/.exec(page.url())![1]!;
    await page.locator('[data-result]', { hasText: /^5$/ }).waitFor();

    await page.goto(url('/monitor/tasks'));
    const row = page.locator(`tr[data-uuid="${id}"]`);
    await row.waitFor();
    await expect
      .poll(() => row.locator('[data-field=state]').textContent(), { timeout: 15_000 })
      .toBe('SUCCESS');
    expect(await row.locator('[data-field=name]').textContent()).toBe('tasks.add');
    expect(await row.locator('[data-field=args]').textContent()).toMatch(/4,\s*1/);
    await page.goto(url(`/monitor/task/${id}`));
    await expect(page.locator('main').textContent()).resolves.toContain('tasks.add');
    await shot('task');
  });

  it("lists the code's periodic task (seeded into beat's store) on the Periodic tasks page", async () => {
    await page.goto(url('/monitor/'));
    await Promise.all([page.waitForURL(/\/monitor\/periodic$/), page.click('a:text-is("Periodic tasks")')]);
    const row = page.locator('tr[data-periodic="scheduled_task"]');
    await row.waitFor();
    expect(await row.textContent()).toContain('tasks.add');
  });

  it('creates an interval task every 1 s for tasks.add(2, 3); beat runs it and 5 shows on the Tasks page', async () => {
    await page.goto(url('/monitor/periodic/new'));
    await setField(page, 'name', 'add-two-and-three');
    await setField(page, 'task', 'tasks.add');
    await setField(page, 'schedule_type', 'interval');
    await setField(page, 'every', '1');
    await setField(page, 'period', 'seconds');
    await setField(page, 'args', '[2, 3]');
    await setField(page, 'kwargs', '{}');
    await setField(page, 'enabled', true);
    await shot('periodic-new');
    await Promise.all([page.waitForURL(/\/monitor\/periodic(\/|$)/), page.click('main button[type=submit]')]);
    expect(await page.locator('.field-error').count()).toBe(0);
    await page.goto(url('/monitor/periodic'));
    await page.locator('tr[data-periodic="add-two-and-three"]').waitFor();
    await shot('periodic');

    // Beat re-reads its store every 5 s; the site's Tasks page refreshes itself.
    await page.goto(url('/tasks'));
    const run = page.locator('tr', { hasText: '[2,3]' }).filter({ hasText: 'tasks.add' }).first();
    await run.waitFor({ timeout: 20_000 });
    await expect.poll(() => run.locator('[data-result]').textContent(), { timeout: 10_000 }).toBe('5');
    const entry = (await t.site.beat.store.load()).find((e) => e.entry.name === 'add-two-and-three');
    expect(entry?.entry.task).toBe('tasks.add');
    expect(entry?.entry.args).toEqual([2, 3]);
    await shot('site-tasks');
  });

  it('shows a field error for a bad periodic task and saves nothing', async () => {
    await page.goto(url('/monitor/periodic/new'));
    await setField(page, 'name', 'broken');
    await setField(page, 'task', 'tasks.add');
    await setField(page, 'schedule_type', 'interval');
    await setField(page, 'every', '1');
    await setField(page, 'period', 'seconds');
    await setField(page, 'args', '[2, 3');
    await page.click('main button[type=submit]');
    await page.locator('.field-error[data-field="args"]').waitFor();
    expect((await t.site.beat.store.load()).some((e) => e.entry.name === 'broken')).toBe(false);
    expect(dialogs).toEqual([]);
    expect(errors).toEqual([]);
  });
});

/** Fills a form field whatever control the page uses for it (text, select, radio, checkbox). */
async function setField(page: Page, name: string, value: string | boolean): Promise<void> {
  const controls = page.locator(`form [name="${name}"]`);
  const first = controls.first();
  const tag = await first.evaluate((el) => el.tagName.toLowerCase());
  const type = ((await first.getAttribute('type')) ?? '').toLowerCase();
  if (tag === 'select') await first.selectOption(String(value));
  else if (type === 'checkbox') await first.setChecked(value === true || value === 'on');
  else if (type === 'radio') await page.check(`form [name="${name}"][value="${String(value)}"]`);
  else await first.fill(String(value));
}
