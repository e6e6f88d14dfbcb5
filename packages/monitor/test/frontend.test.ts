import { existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { Celeriac, chain } from 'celeriac';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { describeWith, SERVICES, uniqueName } from '../../celeriac/test/helpers/services.ts';
import { serveMonitor } from '../src/serve.ts';
import { startCliWorker, waitFor, type CliWorker } from './helpers.ts';

const CHROMIUM = '/usr/bin/chromium';
const CHROMIUM_ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking'];

/** Every page the tests open records CSP violations here (the init script runs outside the CSP). */
declare global {
  interface Window {
    cspViolations?: string[];
  }
}

/**
 * The Vite front end in Chromium against RabbitMQ and a real worker: charts with data after tasks
 * ran, a chain's workflow graph, a phone-width layout without sideways scrolling, and not one
 * CSP violation (no inline script or style is needed).
 */
await describeWith(['rabbitmq'], 'monitor front end', () => {
  if (!existsSync(CHROMIUM)) return it.skip(`needs ${CHROMIUM}`);
  const queue = uniqueName('h3-front');
  const node = `${queue}@test`;
  let app: Celeriac;
  let served: Awaited<ReturnType<typeof serveMonitor>>;
  let browser: Browser;
  let context: BrowserContext;
  let page: Page;
  let worker: CliWorker | undefined;
  const violations: string[] = [];
  /** `SCREENSHOT_DIR=/tmp/shots` saves a picture of each page checked. */
  const shot = async (p: Page, name: string) => {
    const out = process.env.SCREENSHOT_DIR;
    if (!out) return;
    mkdirSync(out, { recursive: true });
    await p.screenshot({ path: join(out, `front-${name}.png`), fullPage: true });
  };

  const watchCsp = async (ctx: BrowserContext) => {
    await ctx.addInitScript(() => {
      window.cspViolations = [];
      document.addEventListener('securitypolicyviolation', (e) =>
        window.cspViolations!.push(`${e.violatedDirective} ${e.blockedURI}`),
      );
    });
  };
  const collectCsp = async (p: Page) => {
    violations.push(...((await p.evaluate(() => window.cspViolations ?? [])) as string[]));
  };

  beforeAll(async () => {
    app = new Celeriac({ broker: SERVICES.rabbitmq.url, defaultQueue: queue });
    const workerStarting = startCliWorker({ broker: SERVICES.rabbitmq.url, queue, node });
    [served, browser, worker] = await Promise.all([
      serveMonitor(app, { port: 0, auth: { insecureNoAuth: true }, history: false }),
      chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS }),
      workerStarting,
    ]);
    context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
    await watchCsp(context);
    page = await context.newPage();
    page.setDefaultTimeout(15_000);
    await waitFor(() => served.monitor.state.isAlive(node), 15_000, 'the worker to come online');
  });

  afterAll(async () => {
    await worker?.stop();
    await browser?.close();
    await served?.close();
    await (await app.connection()).deleteQueue(queue).catch(() => undefined);
    await app.close();
  });

  it('draws throughput, runtime percentiles and states on the Dashboard after tasks ran', async () => {
    const results = await Promise.all([
      ...[1, 2, 3, 4, 5].map((n) => app.sendTask('tasks.add', [n, n])),
      app.sendTask('tasks.fail', []),
    ]);
    await waitFor(
      () =>
        results.every((r) => ['SUCCESS', 'FAILURE'].includes(served.monitor.state.task(r.id)?.state ?? '')),
      15_000,
      'the tasks to finish',
    );
    await page.goto(`${served.url}/`);
    const throughput = page.locator('figure[data-chart="throughput"]');
    await throughput.locator('canvas').first().waitFor();
    // Six tasks finished in the last 15 minutes: the per-second series adds up to at least that.
    await expect
      .poll(async () => Number(await throughput.getAttribute('data-total')))
      .toBeGreaterThanOrEqual(6);
    expect(Number(await throughput.getAttribute('data-points'))).toBe(900);
    const perMinute = page.locator('figure[data-chart="throughput-24h"]');
    expect(Number(await perMinute.getAttribute('data-total'))).toBeGreaterThanOrEqual(6);

    const runtimes = page.locator('figure[data-chart="runtimes"]');
    await runtimes.locator('svg.runtime-chart').waitFor();
    expect(await runtimes.locator('svg.runtime-chart rect').count()).toBeGreaterThanOrEqual(3);
    await expect(runtimes.locator('svg.runtime-chart').textContent()).resolves.toContain('tasks.add');
    // The event stream is the broker's, shared with other test runs: at least our five.
    const addRuns = runtimes.locator('table.runtimes tr', { hasText: 'tasks.add' }).locator('td').nth(1);
    expect(Number(await addRuns.textContent())).toBeGreaterThanOrEqual(5);

    const states = page.locator('figure[data-chart="states"]');
    await states.locator('svg.state-bar rect.state-SUCCESS').waitFor();
    await expect(states.locator('.state-legend').textContent()).resolves.toMatch(/FAILURE [1-9]/);
    await shot(page, 'dashboard');
    await collectCsp(page);
  });

  it('draws a chain as a workflow graph whose nodes link to their tasks', async () => {
    const add = app.task('tasks.add', (x: number, y: number) => x + y);
    const last = await chain(add.s(1, 2), add.s(10), add.s(100)).applyAsync();
    const third = await waitFor(() => {
      const t = served.monitor.state.task(last.id);
      return t?.state === 'SUCCESS' && t.parent_id ? t : undefined;
    }, 15_000);
    const second = await waitFor(() => served.monitor.state.task(third.parent_id!), 10_000);
    const first = await waitFor(() => served.monitor.state.task(second.parent_id!), 10_000);
    expect(first.parent_id).toBeNull();

    await page.goto(`${served.url}/task/${second.uuid}`);
    const graph = page.locator('svg.workflow');
    await expect(graph.getAttribute('data-nodes')).resolves.toBe('3');
    expect(await graph.locator('path.edge').count()).toBe(2);
    const nodeOf = (uuid: string) => graph.locator(`g.wf-node[data-uuid="${uuid}"]`);
    await expect(nodeOf(second.uuid).getAttribute('class')).resolves.toContain('current');
    for (const t of [first, second, third])
      await expect(nodeOf(t.uuid).getAttribute('class')).resolves.toContain('state-SUCCESS');
    // Left to right in chain order.
    const xOf = async (uuid: string) => (await nodeOf(uuid).boundingBox())!.x;
    expect(await xOf(first.uuid)).toBeLessThan(await xOf(second.uuid));
    expect(await xOf(second.uuid)).toBeLessThan(await xOf(third.uuid));

    // The task's own timeline bar: received → started → done.
    const timeline = page.locator('figure[data-chart="task-timeline"]');
    await timeline.locator('svg.task-timeline rect.phase-running').first().waitFor();
    expect(Number(await timeline.getAttribute('data-phases'))).toBeGreaterThanOrEqual(2);
    await shot(page, 'task-chain');

    // Retry sends the same call again under a new id, which the worker then runs.
    await page.click('form.retry button');
    await expect.poll(() => page.locator('form.retry output').textContent()).toMatch(/^Sent again as \S+$/);
    const again = (await page.locator('form.retry output').textContent())!.replace('Sent again as ', '');
    const rerun = await waitFor(() => {
      const t = served.monitor.state.task(again);
      return t?.state === 'SUCCESS' ? t : undefined;
    }, 15_000);
    expect([rerun.name, rerun.args, rerun.result]).toEqual(['tasks.add', second.args, second.result]);
    await collectCsp(page);

    await Promise.all([page.waitForURL(new RegExp(`/task/${third.uuid}$`)), nodeOf(third.uuid).click()]);
    await expect(page.locator('table.detail').getAttribute('data-uuid')).resolves.toBe(third.uuid);
    await collectCsp(page);
  });

  it('charts load and processed per worker on the Workers page', async () => {
    await page.goto(`${served.url}/workers`);
    const load = page.locator('figure[data-chart="worker-load"]');
    await load.locator('canvas').first().waitFor();
    await expect.poll(async () => Number(await load.getAttribute('data-points'))).toBeGreaterThan(0);
    await expect(load.locator('.u-legend').textContent()).resolves.toContain(node);
    await page.locator('figure[data-chart="worker-processed"] canvas').first().waitFor();
    await shot(page, 'workers');
    await collectCsp(page);
  });

  it('fits a phone screen: no sideways scrolling of the page, tables scroll in their box', async () => {
    const phone = await browser.newContext({
      viewport: { width: 375, height: 740 },
      isMobile: true,
      hasTouch: true,
    });
    await watchCsp(phone);
    const p = await phone.newPage();
    try {
      const someTask = served.monitor.state.tasksNewestFirst().next().value!;
      for (const path of ['/', '/tasks', `/task/${someTask.uuid}`, '/workers']) {
        await p.goto(`${served.url}${path}`);
        await p.waitForSelector('#live-status.on');
        const overflow = await p.evaluate(() => ({
          page: document.documentElement.scrollWidth,
          view: document.documentElement.clientWidth,
        }));
        expect(overflow.page, `${path} is wider than the phone`).toBeLessThanOrEqual(overflow.view);
        await expect(p.locator('header nav').isVisible()).resolves.toBe(true);
        await shot(p, `phone-${path.split('/')[1] || 'dashboard'}`);
        await collectCsp(p);
      }
      // The 9-column task table is wider than a phone, so it scrolls inside its own box.
      await p.goto(`${served.url}/tasks`);
      const box = await p.evaluate(() => {
        const scroller = document.querySelector('#tasks')!.parentElement!;
        return {
          inner: scroller.scrollWidth,
          outer: scroller.clientWidth,
          overflow: getComputedStyle(scroller).overflowX,
        };
      });
      expect(box.overflow).toBe('auto');
      expect(box.inner).toBeGreaterThan(box.outer);
    } finally {
      await phone.close();
    }
  });

  it('needs no inline script: no page reported a CSP violation', async () => {
    await page.goto(`${served.url}/`);
    expect(await page.locator('script:not([src])').count()).toBe(0);
    const csp = await page.evaluate(async () => (await fetch('/')).headers.get('content-security-policy'));
    expect(csp).toContain("script-src 'self'");
    expect(csp).not.toContain('unsafe-inline');
    await collectCsp(page);
    expect(violations).toEqual([]);
    // The detector itself works: an inline script injected now is refused and reported.
    await page.evaluate(() => {
      const inline = document.createElement('script');
      inline.textContent = 'window.name = "ran"';
      document.body.append(inline);
    });
    await expect.poll(() => page.evaluate(() => window.cspViolations?.length)).toBe(1);
    expect(await page.evaluate(() => window.name)).not.toBe('ran');
  });
});
