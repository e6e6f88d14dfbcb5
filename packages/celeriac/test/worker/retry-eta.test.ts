import { afterEach, describe, expect, it, vi } from 'vitest';
import { exponentialBackoff, autoretryCountdown } from '../../src/worker/retry.ts';
import type { TaskContext } from '../../src/task/context.ts';
import type { TaskHeaders } from '../../src/protocol/types.ts';
import { EtaSchedule } from '../../src/worker/eta-schedule.ts';
import { captureLogger, memoryApp, startWorker, stopAll, waitFor, waitForState } from './helpers.ts';

afterEach(stopAll);

class Flaky extends Error {
  override name = 'Flaky';
}

describe('worker: retry', () => {
  it('republishes the same id with retries+1, keeps lineage, custom headers and embed, stores RETRY, then SUCCESS', async () => {
    const app = memoryApp();
    const seen: TaskHeaders[] = [];
    const states: string[] = [];
    const t = app.task(
      't.retry',
      async (ctx: TaskContext, x: number) => {
        seen.push({ ...ctx.headers });
        if (ctx.retries < 2) {
          states.push((await app.AsyncResult(ctx.id).state) as string);
          return ctx.retry({ countdown: 0.05, exc: new Flaky(`try ${ctx.retries}`) });
        }
        return x * 10;
      },
      { bind: true },
    );
    const after = app.task('t.after', (v: number) => v + 1);
    const worker = await startWorker(app);
    const retried: string[] = [];
    worker.events.on('task-retried', (e) => retried.push(e.exception));
    const r = await t.applyAsync(
      [4],
      {},
      {
        parentId: 'p-1',
        rootId: 'root-1',
        groupId: 'g-1',
        headers: { tenant: 'acme' },
        link: after.s(),
        expires: 60,
      },
    );
    expect(await r.get({ timeout: 3000 })).toBe(40);
    expect(seen.map((h) => h.retries)).toEqual([0, 1, 2]);
    for (const h of seen) {
      expect(h).toMatchObject({
        id: r.id,
        root_id: 'root-1',
        parent_id: 'p-1',
        group: 'g-1',
        tenant: 'acme',
        expires: seen[0]!.expires,
      });
    }
    expect(seen[1]!.eta).not.toBeNull();
    expect(states[1]).toBe('RETRY');
    expect(retried).toHaveLength(2);
    expect(retried[0]).toMatch(/^Retry\(/);
    // the link survived the retries: the callback ran once with the final value
    const meta = await r.meta();
    expect(meta.children).toHaveLength(1);
    const childId = (meta.children[0] as [[string, null], null])[0][0];
    expect(await app.AsyncResult(childId).get({ timeout: 2000 })).toBe(41);
  });

  it('stores RETRY with the exc and traceback', async () => {
    const app = memoryApp();
    let release!: () => void;
    const hold = new Promise<void>((r) => (release = r));
    const t = app.task(
      't.retryOnce',
      async (ctx: TaskContext) => {
        if (ctx.retries === 0) throw ctx.retry({ countdown: 0.3, exc: new Flaky('network') });
        await hold;
        return 'done';
      },
      { bind: true },
    );
    await startWorker(app);
    const r = await t.delay();
    const meta = await waitForState(app, r.id, 'RETRY');
    expect(meta.result).toEqual({ exc_type: 'Flaky', exc_message: ['network'], exc_module: 'celeriac' });
    expect(meta.traceback).toContain('Flaky: network');
    release();
    expect(await r.get({ timeout: 3000 })).toBe('done');
  });

  it('fails with the exc, or MaxRetriesExceededError, once retries run out', async () => {
    const app = memoryApp();
    const withExc = app.task(
      't.withExc',
      (ctx: TaskContext) => ctx.retry({ countdown: 0, exc: new Flaky('still down'), maxRetries: 1 }),
      { bind: true },
    );
    const noExc = app.task('t.noExc', (ctx: TaskContext) => ctx.retry({ countdown: 0 }), {
      bind: true,
      maxRetries: 2,
    });
    await startWorker(app);
    const a = await withExc.delay();
    const b = await noExc.delay();
    const ma = await waitForState(app, a.id, 'FAILURE');
    expect(ma.result).toEqual({ exc_type: 'Flaky', exc_message: ['still down'], exc_module: 'celeriac' });
    const mb = await waitForState(app, b.id, 'FAILURE');
    expect(mb.result).toMatchObject({ exc_type: 'MaxRetriesExceededError', exc_module: 'celery.exceptions' });
    expect((mb.result as { exc_message: string[] }).exc_message[0]).toBe(
      `Can't retry t.noExc[${b.id}] args:() kwargs:{}`,
    );
  });

  it('retries automatically for autoretryFor classes and names, then fails with the error', async () => {
    const app = memoryApp({ defaultRetryDelay: 0 });
    let runs = 0;
    let byNameRuns = 0;
    const t = app.task(
      't.auto',
      () => {
        runs++;
        throw new Flaky(`run ${runs}`);
      },
      { autoretryFor: [Flaky], maxRetries: 2 },
    );
    const byName = app.task(
      't.autoName',
      () => {
        if (++byNameRuns < 3) throw new Flaky('by name');
        return byNameRuns;
      },
      { autoretryFor: ['Flaky'], retryBackoff: 0.001, retryBackoffMax: 0, retryJitter: false },
    );
    const other = app.task(
      't.other',
      () => {
        throw new RangeError('not retried');
      },
      { autoretryFor: [Flaky] },
    );
    await startWorker(app);
    const r = await t.delay();
    const meta = await waitForState(app, r.id, 'FAILURE');
    expect(runs).toBe(3);
    expect(meta.result).toMatchObject({ exc_type: 'Flaky', exc_message: ['run 3'] });
    expect(await (await byName.delay()).get({ timeout: 3000 })).toBe(3);
    const o = await other.delay();
    await waitForState(app, o.id, 'FAILURE');
  });

  it('computes Celery exponential back-off with cap and full jitter', () => {
    expect([0, 1, 2, 3, 10].map((n) => exponentialBackoff(1, n, 600, false))).toEqual([1, 2, 4, 8, 600]);
    expect(exponentialBackoff(3, 2, 600, true, () => 0.999)).toBe(12);
    expect(exponentialBackoff(3, 2, 600, true, () => 0)).toBe(0);
    expect(autoretryCountdown({ retryBackoff: true, retryJitter: false }, 4)).toBe(16);
    expect(autoretryCountdown({ retryBackoff: 5, retryJitter: false, retryBackoffMax: 30 }, 4)).toBe(30);
    expect(autoretryCountdown({}, 4)).toBeUndefined();
  });

  it('rejects without requeue when the retry cannot be published', async () => {
    const app = memoryApp();
    const { logger, lines } = captureLogger();
    app.logger = logger;
    const t = app.task('t.cannotRetry', (ctx: TaskContext) => ctx.retry({ countdown: 1 }), {
      bind: true,
      acksLate: true,
    });
    const worker = await startWorker(app);
    const transport = await app.connection();
    const publish = transport.publish.bind(transport);
    vi.spyOn(transport, 'publish').mockImplementation(async (message, route) => {
      if (message.properties.headers.retries === 1) throw new Error('broker said no');
      return publish(message, route);
    });
    const rejected: boolean[] = [];
    worker.events.on('task-rejected', (e) => rejected.push(e.requeue));
    await t.delay();
    await waitFor(() => rejected.length === 1);
    expect(rejected).toEqual([false]);
    expect(lines.some((l) => l.msg.includes('could not be published: broker said no'))).toBe(true);
    expect(await transport.queueLength('celery')).toBe(0);
  });
});

describe('worker: ETA, expiry and revoke', () => {
  it('holds a near ETA in memory, widens prefetch while held, and runs it at its time', async () => {
    const app = memoryApp({ etaParkAfter: '10s' });
    const ranAt: number[] = [];
    const t = app.task('t.later', () => ranAt.push(Date.now()));
    const worker = await startWorker(app, { concurrency: 2, prefetchMultiplier: 1 });
    const sentAt = Date.now();
    await t.applyAsync([], {}, { countdown: 0.4 });
    await t.applyAsync([], {}, { countdown: 0.3 });
    await waitFor(() => worker.scheduled().length === 2);
    await waitFor(() => worker.prefetchCount() === 4, 1000, 'prefetch widened');
    expect(worker.scheduled()[0]!.eta < worker.scheduled()[1]!.eta).toBe(true);
    await waitFor(() => ranAt.length === 2, 3000);
    expect(Math.min(...ranAt) - sentAt).toBeGreaterThanOrEqual(290);
    await waitFor(() => worker.prefetchCount() === 2, 1000, 'prefetch restored');
  });

  it('parks a far ETA in the broker (redeliverAt) instead of holding it, and runs it once when due', async () => {
    const app = memoryApp({ etaParkAfter: 100 });
    let runs = 0;
    const t = app.task('t.far', () => ++runs);
    const worker = await startWorker(app);
    const transport = await app.connection();
    const park = vi.spyOn(transport, 'redeliverAt');
    const r = await t.applyAsync([], {}, { countdown: 0.5 });
    await waitFor(() => park.mock.calls.length >= 1);
    expect(worker.scheduled()).toHaveLength(0);
    expect(await r.get({ timeout: 3000 })).toBe(1);
    // it came back within etaParkAfter of its ETA, so the second look held it instead of parking again
    expect(park.mock.calls.length).toBe(1);
    expect(runs).toBe(1);
  });

  it('stores REVOKED "expired" for a task past its expires, at receipt or before it runs', async () => {
    const app = memoryApp();
    const t = app.task('t.expiring', () => 'ran');
    const worker = await startWorker(app);
    const revoked: Array<{ expired: boolean }> = [];
    worker.events.on('task-revoked', (e) => revoked.push({ expired: e.expired }));
    const r = await t.applyAsync([], {}, { expires: new Date(Date.now() - 1000) });
    const meta = await waitForState(app, r.id, 'REVOKED');
    expect(meta.result).toEqual({
      exc_type: 'TaskRevokedError',
      exc_message: ['expired'],
      exc_module: 'celery.exceptions',
    });
    // expires before the ETA: held, then expired when due
    const r2 = await t.applyAsync([], {}, { countdown: 0.2, expires: 0.1 });
    await waitForState(app, r2.id, 'REVOKED');
    expect(revoked).toEqual([{ expired: true }, { expired: true }]);
  });

  it('revokes an expired message on receipt even while every slot is busy', async () => {
    const app = memoryApp();
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    const busy = app.task('t.busy', () => gate);
    const t = app.task('t.expiredWhileBusy', () => 'ran');
    const worker = await startWorker(app, { concurrency: 1 });
    await busy.delay();
    await waitFor(() => worker.active().length === 1);
    const r = await t.applyAsync([], {}, { expires: new Date(Date.now() - 1) });
    await waitForState(app, r.id, 'REVOKED', 1000);
    expect(worker.active().map((a) => a.name)).toEqual(['t.busy']);
    release();
  });

  it('stores REVOKED "revoked" for ids in the revoked set, and terminate aborts a running task', async () => {
    const app = memoryApp();
    const t = app.task('t.victim', () => 'ran');
    const long = app.task(
      't.long',
      (ctx: TaskContext) =>
        new Promise((_, reject) => ctx.signal.addEventListener('abort', () => reject(ctx.signal.reason))),
      { bind: true },
    );
    const worker = await startWorker(app);
    worker.revoke(['will-not-run'], { terminate: false, signal: 'SIGTERM' });
    const r = await t.applyAsync([], {}, { taskId: 'will-not-run' });
    const meta = await waitForState(app, r.id, 'REVOKED');
    expect(meta.result).toMatchObject({ exc_type: 'TaskRevokedError', exc_message: ['revoked'] });
    expect(worker.revoked()).toEqual(['will-not-run']);
    const l = await long.delay();
    await waitFor(() => worker.active().length === 1);
    worker.revoke([l.id], { terminate: true, signal: 'SIGTERM' });
    const m2 = await waitForState(app, l.id, 'REVOKED');
    expect(m2.result).toMatchObject({ exc_message: ['terminated'] });
  });
});

describe('EtaSchedule', () => {
  it('keeps one timer for many items and releases them in due order', async () => {
    const out: number[] = [];
    const schedule = new EtaSchedule<number>((n) => out.push(n));
    const spy = vi.spyOn(globalThis, 'setTimeout');
    const now = Date.now();
    for (let i = 0; i < 100; i++) schedule.add(now + 50 + ((i * 37) % 100), i);
    expect(spy.mock.calls.length).toBeLessThanOrEqual(3);
    spy.mockRestore();
    await waitFor(() => out.length === 100, 2000);
    const due = out.map((i) => (i * 37) % 100);
    expect(due).toEqual([...due].sort((a, b) => a - b));
    expect(schedule.drain()).toEqual([]);
  });
});
