import { afterEach, describe, expect, it } from 'vitest';
import type { Celeriac } from '../../src/app/celeriac.ts';
import type { ResultBackend } from '../../src/backends/backend.ts';
import { MemoryBackend } from '../../src/backends/memory/memory-backend.ts';
import { BackgroundStores } from '../../src/worker/background-stores.ts';
import type { Request } from '../../src/worker/request.ts';
import { captureLogger, memoryApp, startWorker, stopAll, waitFor } from './helpers.ts';

afterEach(stopAll);

/** Makes the app use `backend` (a memory backend that behaves like a real one in some way). */
function useBackend(app: Celeriac, backend: ResultBackend): void {
  (app as unknown as { backend: () => Promise<ResultBackend> }).backend = async () => backend;
}

/** A memory backend whose stores wait at a gate while `blocked`, or fail while `failing`. */
class GatedBackend extends MemoryBackend {
  blocked = false;
  failing = false;
  private held: Array<() => void> = [];

  get waiting(): number {
    return this.held.length;
  }

  release(): void {
    this.blocked = false;
    for (const go of this.held.splice(0)) go();
  }

  override async store(...args: Parameters<MemoryBackend['store']>): Promise<void> {
    if (this.failing) throw new Error('ECONNREFUSED 127.0.0.1:6379');
    if (this.blocked) await new Promise<void>((go) => this.held.push(go));
    return super.store(...args);
  }
}

function gatedApp(): { app: Celeriac; backend: GatedBackend } {
  const app = memoryApp();
  const backend = new GatedBackend(`memory://${app.conf.backend!.slice(9)}`);
  useBackend(app, backend);
  return { app, backend };
}

describe('worker: outcomes stored in the background (early ack)', () => {
  it('frees the slot before the store ends, stops taking messages at the cap, loses nothing, and warm shutdown waits for the stores', async () => {
    const { app, backend } = gatedApp();
    const ran: number[] = [];
    const task = app.task('bg.echo', (n: number) => {
      ran.push(n);
      return n;
    });
    backend.blocked = true;
    // concurrency 2 × prefetch multiplier 2: at most 4 stores in flight, 4 messages held unacked.
    const worker = await startWorker(app, { concurrency: 2, prefetchMultiplier: 2 });
    const results = [];
    for (let i = 0; i < 20; i++) results.push(await task.delay(i));

    // More tasks ran than there are slots: their slots did not wait for the store.
    await waitFor(() => backend.waiting === 4, 5_000, 'four stores held at the gate');
    await waitFor(() => worker.reserved().length === 4, 5_000, 'the prefetch window to fill');
    expect(ran).toEqual([0, 1, 2, 3]);
    expect(worker.poolStats()['pending-result-stores']).toBe(4);
    expect(worker.reserved().every((r) => !r.acknowledged)).toBe(true);
    // At the cap nothing more starts, however long the backend takes.
    await new Promise((r) => setTimeout(r, 200));
    expect(ran).toHaveLength(4);
    expect(worker.activeCount()).toBe(0);

    // Warm shutdown gives the waiting messages back and waits for the four stores.
    let stopped = false;
    const stopping = worker.stop({ graceful: true }).then(() => (stopped = true));
    await waitFor(() => worker.reserved().length === 0, 5_000, 'waiting messages to go back');
    await new Promise((r) => setTimeout(r, 100));
    expect(stopped).toBe(false);
    backend.release();
    await stopping;
    for (const r of results.slice(0, 4)) expect((await r.meta()).status).toBe('SUCCESS');

    // The 16 never started are still on the broker: a new worker runs each exactly once.
    await startWorker(app, { concurrency: 2, prefetchMultiplier: 2 });
    const values = await Promise.all(results.map((r) => r.get({ timeout: 10_000 })));
    expect(values).toEqual([...Array(20).keys()]);
    expect([...ran].sort((a, b) => a - b)).toEqual([...Array(20).keys()]);
  });

  it('with acksLate keeps store, ack, free: the slot waits for the store', async () => {
    const { app, backend } = gatedApp();
    let ran = 0;
    const task = app.task('bg.late', () => ++ran, { acksLate: true });
    backend.blocked = true;
    const worker = await startWorker(app, { concurrency: 2, prefetchMultiplier: 2 });
    const results = await Promise.all([1, 2, 3, 4, 5].map(() => task.delay()));
    await waitFor(() => backend.waiting === 2, 5_000, 'two stores held at the gate');
    await new Promise((r) => setTimeout(r, 200));
    expect(ran).toBe(2);
    expect(worker.activeCount()).toBe(2);
    expect(worker.poolStats()['pending-result-stores']).toBe(0);
    expect(worker.active().every((r) => !r.acknowledged)).toBe(true);
    backend.release();
    const values = await Promise.all(results.map((r) => r.get({ timeout: 5_000 })));
    expect([...values].sort()).toEqual([1, 2, 3, 4, 5]);
  });

  it('a background store that fails is logged with the task id and counted; the worker goes on', async () => {
    const { app, backend } = gatedApp();
    const task = app.task('bg.fails', (n: number) => n);
    const { logger, lines } = captureLogger();
    const worker = await startWorker(app, { logger, resultStoreRetryMs: 250 });
    backend.failing = true;
    const lost = await task.delay(1);
    await waitFor(() => worker.poolStats()['lost-results'] === 1, 5_000, 'the lost result to be counted');
    const said = lines.find((l) => l.level >= 50 && l.taskId === lost.id && /lost/.test(l.msg));
    expect(said?.msg).toContain(lost.id);
    expect(worker.poolStats()['pending-result-stores']).toBe(0);
    backend.failing = false;
    expect(await (await task.delay(2)).get({ timeout: 5_000 })).toBe(2);
    expect((await lost.meta()).status).toBe('PENDING');
  });
});

describe('BackgroundStores', () => {
  it('counts a store until it settles, and logs and counts a rejected one without an unhandled rejection', async () => {
    const { logger, lines } = captureLogger();
    let settled = 0;
    const stores = new BackgroundStores(logger, () => settled++);
    const request = { id: 'id-1', name: 'bg.task' } as Request;
    let fail!: (error: Error) => void;
    stores.track(request, new Promise<void>((_, reject) => (fail = reject)));
    stores.track(request, Promise.resolve());
    expect(stores.size).toBe(2);
    await waitFor(() => stores.size === 1, 1_000, 'the resolved store');
    fail(new Error('boom'));
    await waitFor(() => stores.size === 0, 1_000, 'the rejected store');
    expect(settled).toBe(2);
    expect(stores.failed).toBe(1);
    const line = lines.find((l) => l.taskId === 'id-1');
    expect(line).toMatchObject({ level: 50, taskId: 'id-1' });
    expect(line?.msg).toContain('bg.task[id-1]');
  });
});
