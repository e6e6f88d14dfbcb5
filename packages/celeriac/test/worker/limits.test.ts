import { existsSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { ControlClient } from '../../src/control/control-client.ts';
import { startMailbox, type Mailbox } from '../../src/control/mailbox.ts';
import type { TaskContext } from '../../src/task/context.ts';
import { SoftTimeLimitExceeded } from '../../src/task/errors.ts';
import { silentLogger } from '../../src/util/logger.ts';
import { parseRate, RateLimitError } from '../../src/worker/rate-limits.ts';
import type { Worker } from '../../src/worker/worker.ts';
import { captureLogger, memoryApp, startWorker, stopAll, waitFor, waitForState } from './helpers.ts';

const mailboxes: Mailbox[] = [];
const clients: ControlClient[] = [];
afterEach(async () => {
  for (const c of clients.splice(0)) await c.close();
  for (const m of mailboxes.splice(0)) await m.stop();
  await stopAll();
});

async function control(
  worker: Worker,
): Promise<(cmd: string, args?: Record<string, unknown>) => Promise<unknown>> {
  const mailbox = await startMailbox(worker, await worker.app.connection(), silentLogger);
  mailboxes.push(mailbox);
  const client = new ControlClient(worker.app);
  clients.push(client);
  return async (cmd, args = {}) =>
    (await client.inspect(cmd, args, { destination: [worker.hostname], timeoutMs: 1000 }))[worker.hostname];
}

const forever = (ctx: TaskContext): Promise<never> =>
  new Promise((_, reject) => ctx.signal.addEventListener('abort', () => reject(ctx.signal.reason)));

describe('rate limits', () => {
  it('parses Celery rate strings and rejects the rest clearly', () => {
    expect(parseRate('10/s')).toBe(10);
    expect(parseRate('120/m')).toBe(2);
    expect(parseRate('36/h')).toBe(0.01);
    expect(parseRate('5')).toBe(5);
    expect(parseRate(2.5)).toBe(2.5);
    expect(parseRate('')).toBe(0);
    expect(parseRate(null)).toBe(0);
    for (const bad of ['10/d', 'ten/s', '10/', '-1/s', '1/s/s'])
      expect(() => parseRate(bad), bad).toThrow(RateLimitError);
    expect(() => parseRate('10/d')).toThrow(/'10\/s', '100\/m', '1\/h'/);
    expect(() => parseRate({})).toThrow(RateLimitError);
  });

  it('spaces the starts of a rate-limited task; other tasks are not held', async () => {
    const app = memoryApp();
    const starts: number[] = [];
    const limited = app.task('rl.limited', () => starts.push(Date.now()), { rateLimit: '20/s' });
    const free = app.task('rl.free', () => 'free');
    await startWorker(app, { concurrency: 4 });
    const t0 = Date.now();
    const results = await Promise.all(Array.from({ length: 6 }, () => limited.delay()));
    const f = await free.delay();
    expect(await f.get({ timeout: 1000 })).toBe('free');
    expect(Date.now() - t0).toBeLessThan(200); // not behind the limited ones
    await Promise.all(results.map((r) => r.get({ timeout: 3000 })));
    // 1 token at once, then one per 50 ms: 6 starts span >= 250 ms.
    expect(starts[5]! - starts[0]!).toBeGreaterThanOrEqual(230);
    for (let i = 1; i < starts.length; i++) expect(starts[i]! - starts[i - 1]!).toBeGreaterThanOrEqual(35);
  });

  it('changes at run time through the rate_limit control command, with clear errors', async () => {
    const app = memoryApp();
    const starts: number[] = [];
    const t = app.task('rl.slow', () => starts.push(Date.now()), { rateLimit: '1/h' });
    const worker = await startWorker(app);
    const ctl = await control(worker);
    const first = await t.delay();
    await first.get({ timeout: 1000 });
    const held = await t.delay();
    await waitFor(() => worker.reserved().length === 1, 1000, 'the second call to be held');
    expect(await ctl('rate_limit', { task_name: 'rl.slow', rate_limit: '1/d' })).toEqual({
      error: expect.stringContaining('Invalid rate limit string'),
    });
    expect(await ctl('rate_limit', { task_name: 'nope', rate_limit: '1/s' })).toEqual({
      error: 'unknown task',
    });
    expect(await ctl('rate_limit', {})).toEqual({ error: 'unknown task' });
    expect(worker.reserved().length).toBe(1); // nothing changed by bad requests
    expect(await ctl('rate_limit', { task_name: 'rl.slow', rate_limit: 0 })).toEqual({
      ok: 'rate limits disabled successfully',
    });
    await held.get({ timeout: 1000 });
    expect(await ctl('rate_limit', { task_name: 'rl.slow', rate_limit: '10/s' })).toEqual({
      ok: 'new rate limit set successfully',
    });
    const third = await t.delay();
    const fourth = await t.delay();
    await third.get({ timeout: 1000 });
    await fourth.get({ timeout: 1000 });
    expect(starts[3]! - starts[2]!).toBeGreaterThanOrEqual(60); // 10/s: one token per 100 ms
  });

  it('refuses to start with a task whose rate limit does not parse', async () => {
    const app = memoryApp();
    app.task('rl.bad', () => 1, { rateLimit: 'fast' });
    await expect(startWorker(app)).rejects.toThrow(/task rl\.bad: rate limit "fast" does not parse/);
  });
});

describe('time limits (async pool)', () => {
  it('soft limit: the signal aborts with SoftTimeLimitExceeded; a task may clean up or let it fail', async () => {
    const app = memoryApp();
    const fails = app.task('tl.fails', forever, { bind: true, softTimeLimit: 0.1 });
    const cleans = app.task(
      'tl.cleans',
      async (ctx: TaskContext) => {
        try {
          await forever(ctx);
        } catch (error) {
          return error instanceof SoftTimeLimitExceeded ? 'cleaned up' : 'other';
        }
      },
      { bind: true, softTimeLimit: 0.1 },
    );
    await startWorker(app);
    const a = await fails.delay();
    const b = await cleans.delay();
    const meta = await waitForState(app, a.id, 'FAILURE', 2000);
    expect(meta.result).toMatchObject({ exc_type: 'SoftTimeLimitExceeded', exc_module: 'celery.exceptions' });
    expect(await b.get({ timeout: 2000 })).toBe('cleaned up');
  });

  it('hard limit: FAILURE TimeLimitExceeded, the slot is freed, and a warning says the code may still run', async () => {
    const app = memoryApp();
    const { logger, lines } = captureLogger();
    let lateFinish = false;
    const stuck = app.task('tl.stuck', async () => {
      await new Promise((r) => setTimeout(r, 600)); // ignores its signal
      lateFinish = true;
      return 'late';
    });
    const next = app.task('tl.next', () => 'next');
    const worker = await startWorker(app, { concurrency: 1, logger });
    const started = Date.now();
    const r = await stuck.applyAsync([], {}, { timeLimit: 0.2 }); // the header sets it
    const meta = await waitForState(app, r.id, 'FAILURE', 2000);
    expect(Date.now() - started).toBeLessThan(550);
    expect(meta.result).toMatchObject({
      exc_type: 'TimeLimitExceeded',
      exc_message: ['TimeLimitExceeded(0.2)'],
    });
    expect(await (await next.delay()).get({ timeout: 1000 })).toBe('next');
    expect(lines.some((l) => l.level === 40 && /cannot be ended from outside/.test(l.msg))).toBe(true);
    await waitFor(() => lateFinish, 2000);
    await new Promise((r) => setTimeout(r, 20));
    expect((await r.meta()).status).toBe('FAILURE'); // the late value is dropped
    expect(worker.processedTotals()['tl.stuck']).toBe(1);
  });

  it('the message header wins over the task; time_limit control sets the task limits', async () => {
    const app = memoryApp();
    const t = app.task('tl.ctl', forever, { bind: true });
    const worker = await startWorker(app);
    const ctl = await control(worker);
    expect(await ctl('time_limit', { task_name: 'nope', soft: 1 })).toEqual({ error: 'unknown task' });
    expect(await ctl('time_limit', { task_name: 'tl.ctl', soft: 'soon' })).toEqual({
      error: expect.stringContaining('soft time limit must be a number'),
    });
    expect(await ctl('time_limit', { task_name: 'tl.ctl', soft: 0.05, hard: 5 })).toEqual({
      ok: 'time limits set successfully',
    });
    const a = await t.delay();
    expect((await waitForState(app, a.id, 'FAILURE', 2000)).result).toMatchObject({
      exc_type: 'SoftTimeLimitExceeded',
    });
    const b = await t.applyAsync([], {}, { timeLimit: 0.1, softTimeLimit: 0 });
    expect((await waitForState(app, b.id, 'FAILURE', 2000)).result).toMatchObject({
      exc_type: 'SoftTimeLimitExceeded', // header soft 0 = none, so the task's soft 0.05 still applies
    });
  });
});

describe('revoke, statedb and mingle', () => {
  it('revoke with terminate over remote control ends a running task as REVOKED terminated; unknown ids are kept', async () => {
    const app = memoryApp();
    const stuck = app.task('rv.stuck', () => new Promise(() => undefined)); // never settles, ignores signals
    const next = app.task('rv.next', () => 'next');
    const worker = await startWorker(app, { concurrency: 1 });
    const ctl = await control(worker);
    const r = await stuck.delay();
    await waitFor(() => worker.active().length === 1);
    expect(await ctl('revoke', { task_id: [r.id], terminate: true, signal: 'SIGKILL' })).toEqual({
      ok: `terminate: ${r.id}`,
    });
    const meta = await waitForState(app, r.id, 'REVOKED', 1000);
    expect(meta.result).toMatchObject({ exc_type: 'TaskRevokedError', exc_message: ['terminated'] });
    expect(await (await next.delay()).get({ timeout: 1000 })).toBe('next');
    expect(await ctl('revoke', { task_id: 'no-such-task' })).toEqual({
      ok: 'tasks no-such-task flagged as revoked',
    });
    expect(await ctl('revoked')).toEqual(expect.arrayContaining([r.id, 'no-such-task']));
    const late = await next.applyAsync([], {}, { taskId: 'no-such-task' });
    expect((await waitForState(app, late.id, 'REVOKED', 1000)).result).toMatchObject({
      exc_message: ['revoked'],
    });
  });

  it('--statedb keeps the revoked set across restarts; an unreadable file is moved aside, not lost', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'celeriac-statedb-'));
    const path = join(dir, 'worker.state');
    const app1 = memoryApp();
    const w1 = await startWorker(app1, { statedb: path });
    w1.revoke(['gone-1', 'gone-2'], { terminate: false, signal: 'SIGTERM' });
    await w1.stop();
    expect(JSON.parse(readFileSync(path, 'utf8')).revoked).toHaveProperty('gone-1');

    const app2 = memoryApp();
    const t = app2.task('sd.t', () => 'ran');
    const w2 = await startWorker(app2, { statedb: path });
    expect(w2.revoked().sort()).toEqual(['gone-1', 'gone-2']);
    const r = await t.applyAsync([], {}, { taskId: 'gone-2' });
    await waitForState(app2, r.id, 'REVOKED', 1000);
    await w2.stop();

    writeFileSync(path, 'not json{');
    const { logger, lines } = captureLogger();
    const w3 = await startWorker(memoryApp(), { statedb: path, logger });
    expect(w3.revoked()).toEqual([]);
    expect(lines.some((l) => l.level === 40 && /statedb .* is unreadable/.test(l.msg))).toBe(true);
    const aside = readdirSync(dir).filter((f) => f.startsWith('worker.state.corrupt-'));
    expect(aside).toHaveLength(1);
    expect(readFileSync(join(dir, aside[0]!), 'utf8')).toBe('not json{');
    await w3.stop();
    expect(existsSync(path)).toBe(true);
  });

  it('mingle: a worker that starts later learns the revoked ids of running workers', async () => {
    const app = memoryApp();
    const t = app.task('mg.t', () => 'ran');
    const w1 = await startWorker(app, { hostname: 'mg1@test' });
    mailboxes.push(await startMailbox(w1, await app.connection(), silentLogger));
    w1.revoke(['revoked-before'], { terminate: false, signal: 'SIGTERM' });
    const w2 = await startWorker(app, { hostname: 'mg2@test', mingle: true, mingleTimeoutMs: 300 });
    expect(w2.revoked()).toEqual(['revoked-before']);
    // Both workers now hold the id; whichever receives the message discards it.
    const r = await t.applyAsync([], {}, { taskId: 'revoked-before' });
    await waitForState(app, r.id, 'REVOKED', 1000);
  });
});
