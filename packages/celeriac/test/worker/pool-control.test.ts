import { afterEach, describe, expect, it } from 'vitest';
import { ControlClient } from '../../src/control/control-client.ts';
import { startMailbox, type Mailbox } from '../../src/control/mailbox.ts';
import { silentLogger } from '../../src/util/logger.ts';
import type { Worker } from '../../src/worker/worker.ts';
import { memoryApp, startWorker, stopAll, waitFor } from './helpers.ts';

const mailboxes: Mailbox[] = [];
const clients: ControlClient[] = [];
afterEach(async () => {
  for (const c of clients.splice(0)) await c.close();
  for (const m of mailboxes.splice(0)) await m.stop();
  await stopAll();
});

async function control(worker: Worker) {
  mailboxes.push(await startMailbox(worker, await worker.app.connection(), silentLogger));
  const client = new ControlClient(worker.app);
  clients.push(client);
  return async (cmd: string, args: Record<string, unknown> = {}) =>
    (await client.inspect(cmd, args, { destination: [worker.hostname], timeoutMs: 1000 }))[worker.hostname];
}

describe('pool and consumer control', () => {
  it('pool_grow / pool_shrink change how many tasks run at once; bad n is an error reply', async () => {
    const app = memoryApp();
    const gates: Array<() => void> = [];
    const wait = app.task('pc.wait', () => new Promise<void>((r) => gates.push(r)));
    const worker = await startWorker(app, { concurrency: 1 });
    const ctl = await control(worker);
    for (let i = 0; i < 3; i++) await wait.delay();
    await waitFor(() => worker.active().length === 1 && worker.reserved().length === 2);
    expect(await ctl('pool_grow', { n: 2 })).toEqual({ ok: 'pool will grow' });
    await waitFor(() => worker.active().length === 3, 1000, 'the grown pool to take the waiting tasks');
    expect(worker.concurrency()).toBe(3);
    expect(await ctl('pool_shrink', { n: 5 })).toEqual({ error: expect.stringContaining('cannot go to -2') });
    expect(await ctl('pool_grow', { n: 'lots' })).toEqual({
      error: expect.stringContaining('positive integer'),
    });
    expect(await ctl('pool_shrink')).toEqual({ ok: 'pool will shrink' });
    expect(worker.concurrency()).toBe(2);
    expect(await ctl('stats')).toMatchObject({ pool: { 'max-concurrency': 2 } });
    for (const open of gates.splice(0)) open();
    expect(await ctl('autoscale', { max: 4, min: 1 })).toEqual({ error: 'Autoscale not enabled' });
    await expect(startWorker(memoryApp(), { autoscale: { max: 1, min: 3 } })).rejects.toThrow(
      /max >= min >= 1/,
    );
  });

  it('autoscale grows the pool while tasks wait, shrinks it when idle, and takes new bounds by control', async () => {
    const app = memoryApp();
    const gates: Array<() => void> = [];
    const wait = app.task('pc.scaled', () => new Promise<void>((r) => gates.push(r)));
    const worker = await startWorker(app, { autoscale: { max: 4, min: 1, keepaliveMs: 100 } });
    const ctl = await control(worker);
    expect(worker.concurrency()).toBe(1);
    for (let i = 0; i < 6; i++) await wait.delay();
    await waitFor(() => worker.active().length === 4, 3000, 'the pool to grow to max');
    expect(worker.concurrency()).toBe(4);
    expect(await ctl('autoscale', { max: 2, min: 'x' })).toEqual({
      error: expect.stringContaining('max >= min >= 1'),
    });
    expect(await ctl('autoscale', { max: 5, min: 2 })).toEqual({ ok: 'autoscale now max=5 min=2' });
    await waitFor(() => worker.active().length === 5, 3000, 'the pool to grow to the new max');
    while (worker.active().length > 0 || worker.reserved().length > 0) {
      for (const open of gates.splice(0)) open();
      await new Promise((r) => setTimeout(r, 20));
    }
    await waitFor(() => worker.concurrency() === 2, 5000, 'the idle pool to shrink to min');
  });

  it('add_consumer / cancel_consumer start and stop reading queues', async () => {
    const app = memoryApp();
    const t = app.task('pc.where', () => 'ran');
    const worker = await startWorker(app, { queues: ['pc-a'] });
    const ctl = await control(worker);
    expect(await ctl('add_consumer', {})).toEqual({ error: expect.stringContaining('needs queue') });
    expect(await ctl('add_consumer', { queue: 'pc-b' })).toEqual({ ok: 'add consumer pc-b' });
    expect(await ctl('add_consumer', { queue: 'pc-b' })).toEqual({ ok: 'already consuming from "pc-b"' });
    expect((await ctl('active_queues')) as Array<{ name: string }>).toEqual([
      expect.objectContaining({ name: 'pc-a' }),
      expect.objectContaining({ name: 'pc-b' }),
    ]);
    expect(await (await t.applyAsync([], {}, { queue: 'pc-b' })).get({ timeout: 2000 })).toBe('ran');
    expect(await ctl('cancel_consumer', { queue: 'pc-a' })).toEqual({ ok: 'no longer consuming from pc-a' });
    expect(await ctl('cancel_consumer', { queue: 'pc-b' })).toEqual({ ok: 'no longer consuming from pc-b' });
    expect(await ctl('active_queues')).toEqual([]);
    const r = await t.applyAsync([], {}, { queue: 'pc-a' });
    await new Promise((res) => setTimeout(res, 200));
    expect((await r.meta()).status).toBe('PENDING'); // nobody reads pc-a now
    expect(await ctl('add_consumer', { queue: 'pc-a' })).toEqual({ ok: 'add consumer pc-a' });
    expect(await r.get({ timeout: 2000 })).toBe('ran');
  });
});
