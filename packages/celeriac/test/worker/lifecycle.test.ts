import { afterEach, describe, expect, it } from 'vitest';
import { Celeriac } from '../../src/app/celeriac.ts';
import type { TaskContext } from '../../src/task/context.ts';
import { MemoryTransport } from '../../src/transports/memory/memory-transport.ts';
import { Worker } from '../../src/worker/worker.ts';
import { uniqueName } from '../helpers/services.ts';
import { memoryApp, startWorker, stopAll, waitFor, waitForState } from './helpers.ts';

afterEach(stopAll);

function sameBroker(app: Celeriac, options: ConstructorParameters<typeof Celeriac>[0] = {}): Celeriac {
  return new Celeriac({ broker: app.conf.broker, backend: app.conf.backend, ...options });
}

describe('worker: acks', () => {
  it('acks early by default (before running) and late with acksLate (after the state is stored)', async () => {
    const app = memoryApp();
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    const early = app.task('a.early', () => gate);
    const late = app.task('a.late', () => gate, { acksLate: true });
    const worker = await startWorker(app);
    const e = await early.delay();
    const l = await late.delay();
    await waitFor(() => worker.active().length === 2);
    const byId = Object.fromEntries(worker.active().map((r) => [r.id, r.acknowledged]));
    expect(byId).toEqual({ [e.id]: true, [l.id]: false });
    expect(worker.active()[0]).toMatchObject({
      hostname: worker.hostname,
      worker_pid: process.pid,
      delivery_info: { routing_key: 'celery' },
    });
    release();
    await l.get({ timeout: 2000 });
    expect(await (await app.connection()).queueLength('celery')).toBe(0);
  });
});

describe('worker: shutdown', () => {
  it('warm: gives held ETA and unstarted messages back, lets the running task finish', async () => {
    const app = memoryApp({ shutdownGrace: '5s' });
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    const slow = app.task('l.slow', async () => {
      await gate;
      return 'finished';
    });
    const worker = await startWorker(app, { concurrency: 1 });
    const running = await slow.delay();
    await slow.delay();
    await slow.delay();
    await slow.applyAsync([], {}, { countdown: 60 });
    await waitFor(
      () => worker.active().length === 1 && worker.reserved().length === 2 && worker.scheduled().length === 1,
    );
    const stopped = worker.stop();
    setTimeout(release, 100);
    await stopped;
    expect(await app.AsyncResult(running.id).state).toBe('SUCCESS');
    const broker = new MemoryTransport(app.conf.broker);
    expect(await broker.queueLength('celery')).toBe(3);
    expect(worker.stop()).toBe(stopped); // idempotent
  });

  it('acksLate task still running after the grace period is aborted and redelivered to the next worker', async () => {
    const app = memoryApp({ shutdownGrace: 100, acksLate: true });
    let aborted: unknown;
    app.task(
      'l.long',
      (ctx: TaskContext) =>
        new Promise((_, reject) =>
          ctx.signal.addEventListener('abort', () => {
            aborted = ctx.signal.reason;
            reject(ctx.signal.reason);
          }),
        ),
      { bind: true },
    );
    const worker = await startWorker(app);
    const r = await app.sendTask('l.long');
    await waitFor(() => worker.active().length === 1);
    const t0 = Date.now();
    await worker.stop();
    expect(Date.now() - t0).toBeLessThan(2000);
    expect(aborted).toMatchObject({ code: 'WORKER_SHUTDOWN' });
    expect(await app.AsyncResult(r.id).state).toBe('PENDING'); // the aborted run stored nothing

    const next = sameBroker(app, { acksLate: true });
    let redelivered: boolean | undefined;
    next.task(
      'l.long',
      (ctx: TaskContext) => ((redelivered = ctx.deliveryInfo.redelivered), 'second worker'),
      { bind: true },
    );
    await startWorker(next);
    expect(await next.AsyncResult(r.id).get({ timeout: 2000 })).toBe('second worker');
    expect(redelivered).toBe(true);
  });

  it('cold: stop({ graceful: false }) aborts at once; a never-started worker stops cleanly', async () => {
    const app = memoryApp({ shutdownGrace: '30s' });
    const signals: AbortSignal[] = [];
    app.task(
      'l.forever',
      (ctx: TaskContext) => {
        signals.push(ctx.signal);
        return new Promise(() => undefined);
      },
      { bind: true },
    );
    const worker = await startWorker(app);
    await app.sendTask('l.forever');
    await waitFor(() => signals.length === 1);
    const t0 = Date.now();
    await worker.stop({ graceful: false });
    expect(Date.now() - t0).toBeLessThan(1500);
    expect(signals[0]!.aborted).toBe(true);
    await new Worker(memoryApp()).stop();
  });

  it('a warm stop can be hurried by a cold one', async () => {
    const app = memoryApp({ shutdownGrace: '30s' });
    app.task('l.stuck', () => new Promise(() => undefined));
    const worker = await startWorker(app);
    await app.sendTask('l.stuck');
    await waitFor(() => worker.active().length === 1);
    const t0 = Date.now();
    const warm = worker.stop();
    await new Promise((r) => setTimeout(r, 50));
    await worker.stop({ graceful: false });
    await warm;
    expect(Date.now() - t0).toBeLessThan(2500);
  });
});

describe('worker: events and counters', () => {
  it('emits task events with Celery field names', async () => {
    const app = memoryApp();
    const ok = app.task('e.ok', (x: number) => ({ doubled: x * 2 }));
    const bad = app.task('e.bad', () => {
      throw new TypeError('nope');
    });
    const worker = await startWorker(app, { hostname: 'celery@events' });
    expect(worker.events.wants('task-succeeded')).toBe(false);
    const events: Array<Record<string, unknown>> = [];
    for (const type of ['task-received', 'task-started', 'task-succeeded', 'task-failed'] as const) {
      worker.events.on(type, (e) => events.push(e as unknown as Record<string, unknown>));
    }
    const r1 = await ok.delay(21);
    await r1.get({ timeout: 2000 });
    const r2 = await bad.delay();
    await waitForState(app, r2.id, 'FAILURE');
    await waitFor(() => events.length === 6);
    const [received, started, succeeded] = events;
    expect(received).toMatchObject({
      type: 'task-received',
      uuid: r1.id,
      name: 'e.ok',
      args: '(21,)',
      kwargs: '{}',
      root_id: r1.id,
      parent_id: null,
      retries: 0,
      eta: null,
      expires: null,
      hostname: 'celery@events',
      pid: process.pid,
    });
    expect(typeof received!.timestamp).toBe('number');
    expect(typeof received!.utcoffset).toBe('number');
    expect(started).toMatchObject({ type: 'task-started', uuid: r1.id });
    expect(succeeded).toMatchObject({ type: 'task-succeeded', uuid: r1.id, result: "{'doubled': 42}" });
    expect(typeof succeeded!.runtime).toBe('number');
    expect((succeeded!.clock as number) > (received!.clock as number)).toBe(true);
    expect(events[5]).toMatchObject({ type: 'task-failed', uuid: r2.id, exception: "TypeError('nope')" });
    expect(String(events[5]!.traceback)).toContain('TypeError: nope');
    expect(worker.processedTotals()).toEqual({ 'e.ok': 1, 'e.bad': 1 });
    expect(worker.activeCount()).toBe(0);
  });

  it('describes itself for the CLI banner', async () => {
    const app = new Celeriac({
      broker: `memory://${uniqueName('d')}`,
      concurrency: 3,
      prefetchMultiplier: 2,
    });
    app.task('d.one', () => 1);
    const worker = await startWorker(app, { queues: ['a', 'b'], hostname: 'w1@box' });
    expect(worker.describe()).toEqual({
      hostname: 'w1@box',
      broker: app.conf.broker,
      backend: 'disabled',
      queues: ['a', 'b'],
      concurrency: 3,
      pool: 'async',
      prefetch: 6,
      tasks: ['d.one'],
    });
    expect(worker.queues().map((q) => q.name)).toEqual(['a', 'b']);
  });

  it('rejects impossible options with the fix', () => {
    const app = memoryApp();
    expect(() => new Worker(app, { concurrency: 0 })).toThrow(/positive integer/);
    expect(() => new Worker(app, { queues: [] })).toThrow(/non-empty list/);
  });
});
