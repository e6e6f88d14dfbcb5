import { afterEach, describe, expect, it } from 'vitest';
import { Ignore, Reject } from '../../src/task/errors.ts';
import type { TaskContext } from '../../src/task/context.ts';
import {
  captureLogger,
  memoryApp,
  publishRaw,
  startWorker,
  stopAll,
  taskMessage,
  waitFor,
  waitForState,
} from './helpers.ts';

afterEach(stopAll);

describe('worker: task outcomes', () => {
  it('stores SUCCESS with Celery meta fields and counts the task', async () => {
    const app = memoryApp();
    const add = app.task('tasks.add', (x: number, y: number) => x + y);
    const worker = await startWorker(app);
    const result = await add.delay(2, 3);
    expect(await result.get({ timeout: 2000 })).toBe(5);
    const meta = await result.meta();
    expect(meta).toMatchObject({
      status: 'SUCCESS',
      result: 5,
      traceback: null,
      children: [],
      task_id: result.id,
    });
    expect(meta.date_done).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}$/);
    expect(meta).not.toHaveProperty('name');
    expect(worker.processedTotals()).toEqual({ 'tasks.add': 1 });
  });

  it('awaits async tasks and runs up to `concurrency` at once', async () => {
    const app = memoryApp();
    let running = 0;
    let peak = 0;
    const slow = app.task('tasks.slow', async (i: number) => {
      running++;
      peak = Math.max(peak, running);
      await new Promise((r) => setTimeout(r, 20));
      running--;
      return i * 2;
    });
    await startWorker(app, { concurrency: 3 });
    const results = await Promise.all(Array.from({ length: 10 }, (_, i) => slow.delay(i)));
    expect(await Promise.all(results.map((r) => r.get({ timeout: 3000 })))).toEqual(
      Array.from({ length: 10 }, (_, i) => i * 2),
    );
    expect(peak).toBe(3);
  });

  it('does not store SUCCESS when ignoreResult comes from the task, the header or the app; still stores failures from the header', async () => {
    const app = memoryApp();
    const byTask = app.task('t.byTask', () => 1, { ignoreResult: true });
    const plain = app.task('t.plain', () => 2);
    const boom = app.task('t.boom', () => {
      throw new Error('boom');
    });
    const worker = await startWorker(app);
    const a = await byTask.delay();
    const b = await plain.applyAsync([], {}, { ignoreResult: true });
    const c = await boom.applyAsync([], {}, { ignoreResult: true });
    await waitForState(app, c.id, 'FAILURE');
    await waitFor(
      () => worker.processedTotals()['t.byTask'] === 1 && worker.processedTotals()['t.plain'] === 1,
    );
    expect(await a.state).toBe('PENDING');
    expect(await b.state).toBe('PENDING');

    const app2 = memoryApp({ ignoreResult: true });
    const quiet = app2.task('t.quiet', () => 3);
    const fails = app2.task('t.fails', () => {
      throw new Error('not stored either');
    });
    const worker2 = await startWorker(app2);
    const d = await quiet.delay();
    const e = await fails.delay();
    await waitFor(
      () => worker2.processedTotals()['t.quiet'] === 1 && worker2.processedTotals()['t.fails'] === 1,
    );
    expect(await d.state).toBe('PENDING');
    expect(await e.state).toBe('PENDING'); // app-level ignore is task-level: errors not stored (store_errors_even_if_ignored=False)
  });

  it('stores STARTED {pid, hostname} first with trackStarted', async () => {
    const app = memoryApp({ trackStarted: true });
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    const t = app.task('t.tracked', async () => {
      await gate;
      return 'ok';
    });
    await startWorker(app, { hostname: 'celery@tracker' });
    const result = await t.delay();
    const started = await waitForState(app, result.id, 'STARTED');
    expect(started.result).toEqual({ pid: process.pid, hostname: 'celery@tracker' });
    expect(started.date_done).toBeNull();
    release();
    expect(await result.get({ timeout: 2000 })).toBe('ok');
  });

  it('stores FAILURE with exception info and traceback, for Errors and thrown non-Error values', async () => {
    const app = memoryApp();
    const { logger, lines } = captureLogger();
    app.logger = logger;
    const typeErr = app.task('t.typeErr', () => {
      throw new TypeError('bad type');
    });
    const str = app.task('t.string', () => {
      throw 'just a string';
    });
    const obj = app.task('t.object', async () => {
      throw { code: 42 };
    });
    await startWorker(app);
    const r1 = await typeErr.delay();
    const r2 = await str.delay();
    const r3 = await obj.delay();
    const m1 = await waitForState(app, r1.id, 'FAILURE');
    expect(m1.result).toEqual({ exc_type: 'TypeError', exc_message: ['bad type'], exc_module: 'builtins' });
    expect(m1.traceback).toContain('TypeError: bad type');
    const m2 = await waitForState(app, r2.id, 'FAILURE');
    expect(m2.result).toEqual({
      exc_type: 'Exception',
      exc_message: ['just a string'],
      exc_module: 'builtins',
    });
    expect(m2.traceback).toContain('non-Error value thrown');
    const m3 = await waitForState(app, r3.id, 'FAILURE');
    expect(m3.result).toEqual({
      exc_type: 'Exception',
      exc_message: ['{"code":42}'],
      exc_module: 'builtins',
    });
    await expect(r1.get({ timeout: 1000 })).rejects.toMatchObject({ excType: 'TypeError' });
    expect(
      lines.some(
        (l) =>
          l.level === 50 &&
          l.msg.includes(`t.string[${r2.id}] raised unexpected: Exception('just a string')`),
      ),
    ).toBe(true);
  });

  it('Reject drops (or requeues) the message and stores nothing; Ignore acks and stores nothing', async () => {
    const app = memoryApp();
    let attempts = 0;
    const dropped = app.task('t.reject', () => {
      throw new Reject('not for us', false);
    });
    const requeued = app.task(
      't.requeue',
      () => {
        attempts++;
        if (attempts < 3) throw new Reject('again', true);
        return 'third time';
      },
      { acksLate: true },
    ); // with the default early ack the message is already settled, as in Celery
    const ignored = app.task('t.ignore', () => {
      throw new Ignore();
    });
    const worker = await startWorker(app);
    const rejected: Array<{ uuid: string; requeue: boolean }> = [];
    worker.events.on('task-rejected', (e) => rejected.push({ uuid: e.uuid, requeue: e.requeue }));
    const a = await dropped.delay();
    const b = await requeued.delay();
    const c = await ignored.delay();
    expect(await b.get({ timeout: 2000 })).toBe('third time');
    await waitFor(
      () => worker.processedTotals()['t.ignore'] === 1 && worker.processedTotals()['t.reject'] === 1,
    );
    expect(await a.state).toBe('PENDING');
    expect(await c.state).toBe('PENDING');
    expect(rejected).toContainEqual({ uuid: a.id, requeue: false });
    expect(rejected.filter((r) => r.uuid === b.id)).toEqual([
      { uuid: b.id, requeue: true },
      { uuid: b.id, requeue: true },
    ]);
    const transport = await app.connection();
    expect(await transport.queueLength('celery')).toBe(0);
  });

  it('stores name/args/kwargs/worker/retries/queue with resultExtended', async () => {
    const app = memoryApp({ resultExtended: true });
    const t = app.task('t.ext', (a: number, b?: string) => `${a}${b}`, { params: ['a', 'b'] });
    await startWorker(app, { hostname: 'celery@ext' });
    const r = await t.applyAsync([1], { b: 'x' });
    expect(await r.get({ timeout: 2000 })).toBe('1x');
    expect(await r.meta()).toMatchObject({
      name: 't.ext',
      args: [1],
      kwargs: { b: 'x' },
      worker: 'celery@ext',
      retries: 0,
      queue: 'celery',
    });
  });
});

describe('worker: arguments and context', () => {
  it('maps kwargs onto positions through `params`, leaving gaps to JS defaults', async () => {
    const app = memoryApp();
    const t = app.task('t.kw', (a: number, b: number = 10, c: number = 100) => a + b + c, {
      params: ['a', 'b', 'c'],
    });
    await startWorker(app);
    expect(await (await t.applyAsync([], { a: 1, c: 2 })).get({ timeout: 2000 })).toBe(13);
    expect(await (await t.applyAsync([1], { b: 2 })).get({ timeout: 2000 })).toBe(103);
  });

  it('fails with a TypeError that says the fix for kwargs without params, unknown or duplicate keywords', async () => {
    const app = memoryApp();
    const noParams = app.task('t.noParams', (a: number) => a);
    const withParams = app.task('t.withParams', (a: number) => a, { params: ['a'] });
    await startWorker(app);
    const r1 = await noParams.applyAsync([], { a: 1 });
    const m1 = await waitForState(app, r1.id, 'FAILURE');
    expect(m1.result).toMatchObject({ exc_type: 'TypeError', exc_module: 'builtins' });
    expect(String((m1.result as { exc_message: string[] }).exc_message[0])).toMatch(
      /declares no parameter names.*params: \[\.\.\.\]/,
    );
    const r2 = await withParams.applyAsync([], { z: 1 });
    const m2 = await waitForState(app, r2.id, 'FAILURE');
    expect(String((m2.result as { exc_message: string[] }).exc_message[0])).toContain(
      "unexpected keyword argument 'z'",
    );
    const r3 = await withParams.applyAsync([1], { a: 2 });
    const m3 = await waitForState(app, r3.id, 'FAILURE');
    expect(String((m3.result as { exc_message: string[] }).exc_message[0])).toContain(
      "multiple values for argument 'a'",
    );
  });

  it('gives bound tasks their context first', async () => {
    const app = memoryApp();
    let seen: Partial<TaskContext> = {};
    const t = app.task(
      't.bound',
      (ctx: TaskContext, x: number) => {
        seen = {
          id: ctx.id,
          name: ctx.name,
          retries: ctx.retries,
          args: ctx.args,
          rootId: ctx.rootId,
          hostname: ctx.hostname,
        };
        expect(ctx.signal.aborted).toBe(false);
        expect(ctx.deliveryInfo).toMatchObject({ exchange: '', routingKey: 'celery', redelivered: false });
        expect(ctx.headers.custom).toBe('yes');
        return x + 1;
      },
      { bind: true },
    );
    await startWorker(app, { hostname: 'celery@bound' });
    const r = await t.applyAsync([41], {}, { headers: { custom: 'yes' } });
    expect(await r.get({ timeout: 2000 })).toBe(42);
    expect(seen).toEqual({
      id: r.id,
      name: 't.bound',
      retries: 0,
      args: [41],
      rootId: r.id,
      hostname: 'celery@bound',
    });
  });
});

describe('worker: bad input', () => {
  it('rejects non-JSON, headerless, and malformed messages with one clear log line each, and keeps going', async () => {
    const app = memoryApp();
    const { logger, lines } = captureLogger();
    app.logger = logger;
    const ok = app.task('t.ok', () => 'fine');
    const worker = await startWorker(app);
    const good = taskMessage('t.ok');
    const notJson = { ...good.message, body: Buffer.from('{{{not json') };
    const noTask = taskMessage('t.ok');
    delete (noTask.message.properties.headers as Record<string, unknown>).task;
    noTask.message.properties.headers.id = 'headerless-1';
    const argsNotArray = taskMessage('t.ok');
    argsNotArray.message.body = Buffer.from(JSON.stringify([{ a: 1 }, {}, {}]));
    const pickle = { ...taskMessage('t.ok').message };
    pickle.properties = { ...pickle.properties, contentType: 'application/x-python-serialize' };
    for (const m of [notJson, noTask.message, argsNotArray.message, pickle]) await publishRaw(app, m);
    const after = await ok.delay();
    expect(await after.get({ timeout: 2000 })).toBe('fine');
    await waitFor(() => worker.invalidCount === 4);
    const errors = lines.filter((l) => l.level === 50 && l.msg.startsWith('rejected invalid message'));
    expect(errors).toHaveLength(4);
    expect(errors[0]!.msg).toContain(good.id);
    expect(errors[0]!.msg).toContain('not valid JSON');
    expect(errors[1]!.msg).toContain('headerless-1');
    expect(errors[1]!.msg).toContain('no task name');
    expect(errors[2]!.msg).toContain('args must be an array');
    expect(errors[3]!.msg).toContain('content type');
    const transport = await app.connection();
    expect(await transport.queueLength('celery')).toBe(0); // rejected without requeue: not redelivered
  });

  it('rejects an unknown task and stores FAILURE NotRegistered as Celery does', async () => {
    const app = memoryApp();
    const { logger, lines } = captureLogger();
    app.logger = logger;
    const worker = await startWorker(app);
    const failed: string[] = [];
    worker.events.on('task-failed', (e) => failed.push(e.exception));
    const r = await app.sendTask('nobody.knows', [1]);
    const meta = await waitForState(app, r.id, 'FAILURE');
    expect(meta.result).toEqual({
      exc_type: 'NotRegistered',
      exc_message: ['nobody.knows'],
      exc_module: 'celery.exceptions',
    });
    expect(failed).toEqual(["NotRegistered('nobody.knows')"]);
    expect(
      lines.some((l) => l.level === 50 && l.msg.includes('unregistered task of type "nobody.knows"')),
    ).toBe(true);
    expect(await (await app.connection()).queueLength('celery')).toBe(0);
  });
});
