import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { chromium, type Browser, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  CHROMIUM,
  CHROMIUM_ARGS,
  chromiumAvailable,
  eventually,
  startTestSite,
  type TestSite,
} from './helpers.ts';

/**
 * The site end to end in Debian's Chromium: the worker, beat and SMTP catcher run in this process
 * (embedded mode) on free ports. `SCREENSHOT_DIR=/tmp/shots` saves a picture of each page.
 */
describe.skipIf(!chromiumAvailable())('feedback site in a browser', () => {
  let t: TestSite;
  let browser: Browser;
  let page: Page;
  const dialogs: string[] = [];

  beforeAll(async () => {
    [t, browser] = await Promise.all([
      startTestSite({ rateLimit: { max: 10, windowMs: 60_000 } }),
      chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS }),
    ]);
    page = await browser.newPage({ viewport: { width: 390, height: 844 } }); // a phone
    page.on('dialog', (d) => {
      dialogs.push(d.message());
      void d.dismiss();
    });
    page.setDefaultTimeout(10_000);
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
    await page.screenshot({ path: join(dir, `${name}.png`), fullPage: true });
  };

  async function submitFeedback(fields: { name: string; email: string; message: string }) {
    await page.goto(url('/feedback'));
    await page.fill('#f-name', fields.name);
    await page.fill('#f-email', fields.email);
    await page.fill('#f-message', fields.message);
    await Promise.all([page.waitForLoadState('domcontentloaded'), page.click('button[type=submit]')]);
  }

  /** The task id the thank-you page links to. */
  async function thankedTaskId(): Promise<string> {
    await page.waitForURL(/\/feedback\/thanks\?task=/);
    return new URL(page.url()).searchParams.get('task')!;
  }

  it('shows the home page with links to every part and the monitor', async () => {
    await page.goto(url('/'));
    await expect(page.locator('h1').textContent()).resolves.toContain("Celery's seed project");
    for (const href of ['/add', '/feedback', '/tasks', '/outbox', '/monitor'])
      expect(await page.locator(`a[href="${href}"]`).count()).toBeGreaterThan(0);
    await shot('home');
  });

  it('adds 4 + 1 = 5 on the Add page, live', async () => {
    await page.goto(url('/add'));
    await shot('add');
    await page.fill('#f-x', '4');
    await page.fill('#f-y', '1');
    await page.click('button[type=submit]');
    await page.waitForURL(/\/tasks\/[0-9a-f-]{36}/);
    await page.locator('[data-result]', { hasText: /^5$/ }).waitFor();
    expect(await page.locator('[data-state]').textContent()).toBe('SUCCESS');
    expect(await page.locator('[data-name]').textContent()).toBe('tasks.add');
    await shot('task');
  });

  it('runs add with a countdown (apply_async((3, 3), countdown=2)) and shows it counting down', async () => {
    await page.goto(url('/add'));
    await page.fill('#f-x', '3');
    await page.fill('#f-y', '3');
    await page.fill('#f-countdown', '2');
    const sentAt = Date.now();
    await page.click('button[type=submit]');
    await page.locator('[data-countdown]', { hasText: /Runs in \d s/ }).waitFor();
    expect(await page.locator('[data-result]').textContent()).toBe('');
    await page.locator('[data-result]', { hasText: /^6$/ }).waitFor();
    expect(Date.now() - sentAt).toBeGreaterThanOrEqual(1900);
  });

  it('shows field errors for bad input and sends nothing', async () => {
    const before = t.site.catcher!.messages.length;
    await page.goto(url('/feedback'));
    await page.click('button[type=submit]'); // all empty
    expect(await page.locator('[data-field-error=name]').textContent()).toContain('Please enter your name');
    expect(await page.locator('[data-field-error=email]').textContent()).toContain('Please enter your email');
    expect(await page.locator('[data-field-error=message]').textContent()).toContain(
      'at least 10 characters',
    );
    await shot('feedback-errors');

    await submitFeedback({ name: 'N'.repeat(101), email: 'not-an-address', message: 'y'.repeat(5001) });
    expect(await page.locator('[data-field-error=name]').textContent()).toContain('too long');
    expect(await page.locator('[data-field-error=email]').textContent()).toContain('valid email address');
    expect(await page.locator('[data-field-error=message]').textContent()).toContain('too long');
    // What was typed stays in the form.
    expect(await page.inputValue('#f-email')).toBe('not-an-address');

    await submitFeedback({
      name: 'Mallory',
      email: 'mallory@example.com\nBcc: x@example.com',
      message: 'Hello there, world',
    });
    expect(await page.locator('[data-field-error]').count()).toBeGreaterThan(0);
    await new Promise((r) => setTimeout(r, 300));
    expect(t.site.catcher!.messages.length).toBe(before);
  });

  it('sends the feedback email through the worker; it reaches the SMTP catcher and shows in /outbox', async () => {
    await page.goto(url('/feedback'));
    await shot('feedback');
    // Markup in the fields is shown as text everywhere (and in the email), never run.
    await submitFeedback({
      name: 'Ada <b>Lovelace</b>',
      email: 'ada@example.com',
      message: 'Great site!\n<img src=x onerror=alert(1)>',
    });
    const id = await thankedTaskId();
    await shot('thanks');
    const mail = await t.site.catcher!.waitFor((m) => m.envelopeTo.includes('ada@example.com'));
    expect(mail.subject).toBe('Your feedback');
    expect(mail.to).toContain('ada@example.com');
    expect(mail.text).toContain('Hi Ada <b>Lovelace</b>,');
    expect(mail.text).toContain('<img src=x onerror=alert(1)>');
    await page.goto(url('/outbox'));
    const entry = page.locator('details', { hasText: 'ada@example.com' }).first();
    await entry.locator('summary').click();
    expect(await entry.locator('[data-mail-text]').textContent()).toContain('<img src=x onerror=alert(1)>');
    await shot('outbox');
    await page.goto(url(`/tasks/${id}`));
    await page.locator('[data-state]', { hasText: 'SUCCESS' }).waitFor();
    expect(dialogs).toEqual([]);
  });

  it('keeps retrying while the SMTP server is down and sends the email when it is back', async () => {
    const catcher = t.site.catcher!;
    await catcher.stop();
    try {
      await submitFeedback({
        name: 'Grace',
        email: 'grace@example.com',
        message: 'Sent while SMTP was down.',
      });
      const id = await thankedTaskId();
      await page.goto(url(`/tasks/${id}`));
      await page.locator('[data-state]', { hasText: 'RETRY' }).waitFor();
      expect(await page.locator('[data-result]').textContent()).toContain('SmtpUnavailableError');
      await eventually(async () => {
        const body = (await (await fetch(url(`/api/tasks/${id}`))).json()) as { retries: number | null };
        return (body.retries ?? 0) >= 2 || undefined;
      });
      expect(catcher.messages.some((m) => m.envelopeTo.includes('grace@example.com'))).toBe(false);
    } finally {
      await catcher.start();
    }
    const mail = await catcher.waitFor((m) => m.envelopeTo.includes('grace@example.com'));
    expect(mail.text).toContain('Sent while SMTP was down.');
    await page.locator('[data-state]', { hasText: 'SUCCESS' }).waitFor();
  });

  it('accepts forms while the worker is stopped; the emails go out when it starts', async () => {
    await t.site.stopWorker();
    const ids: string[] = [];
    try {
      for (const who of ['linus', 'margaret']) {
        await submitFeedback({
          name: who,
          email: `${who}@example.com`,
          message: `Queued while the worker was off (${who}).`,
        });
        ids.push(await thankedTaskId());
      }
      await new Promise((r) => setTimeout(r, 500));
      expect(t.site.catcher!.messages.some((m) => /linus|margaret/.test(m.envelopeTo.join()))).toBe(false);
    } finally {
      await t.site.startWorker();
    }
    for (const who of ['linus', 'margaret'])
      await t.site.catcher!.waitFor((m) => m.envelopeTo.includes(`${who}@example.com`));
  });

  it('lists stored results on the Tasks page, including the periodic tasks.add(14, 15) from beat', async () => {
    await page.goto(url('/tasks'));
    // Beat sends every second in this test, from the schedule it keeps in the SQLite file; the page refreshes itself.
    expect(t.site.beat.store.description).toMatch(/^db:sqlite:/);
    const periodic = page.locator('tr', { hasText: '[14,15]' }).filter({ hasText: '29' }).first();
    await periodic.waitFor();
    expect(await periodic.textContent()).toContain('tasks.add');
    expect(await page.locator('tr', { hasText: 'tasks.send_feedback_email' }).count()).toBeGreaterThan(0);
    // The public list shows no one's address or message.
    const content = await page.content();
    expect(content).not.toContain('ada@example.com');
    expect(content).not.toContain('Sent while SMTP was down');
    await shot('tasks');
  });

  it('answers a flood of submissions with 429 and a clear message', async () => {
    let status = 0;
    for (let i = 0; i < 12 && status !== 429; i++) {
      await page.goto(url('/feedback'));
      await page.fill('#f-name', 'Flood');
      await page.fill('#f-email', `flood${i}@example.com`);
      await page.fill('#f-message', 'Flooding the form with messages.');
      const [response] = await Promise.all([
        page.waitForResponse((r) => r.url().endsWith('/feedback') && r.request().method() === 'POST'),
        page.click('button[type=submit]'),
      ]);
      status = response.status();
    }
    expect(status).toBe(429);
    expect(await page.locator('[role=alert]').textContent()).toMatch(
      /Too many submissions from your address/,
    );
    await shot('rate-limited');
  });
});
