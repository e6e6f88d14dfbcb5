import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Celeriac } from 'celeriac';
import { afterAll, describe, expect, it } from 'vitest';
import { HistoryConfigError, sqlitePath, TaskHistory } from '../src/history/task-history.ts';
import { Monitor } from '../src/monitor.ts';
import { newTask } from '../src/state/task-state.ts';

const dir = mkdtempSync(join(tmpdir(), 'celeriac-monitor-history-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const nowS = () => Date.now() / 1000;

describe('TaskHistory (SQLite)', () => {
  it('batches writes: nothing until the flush, then one transaction for all', async () => {
    const history = new TaskHistory({ url: `sqlite://${join(dir, 'batch.db')}`, flushIntervalMs: 60_000 });
    await history.open();
    for (let i = 0; i < 50; i++) history.save({ ...newTask(`t${i}`, nowS()), state: 'SUCCESS' });
    history.save({ ...newTask('t0', nowS()), state: 'FAILURE' }); // a newer version replaces the pending one
    expect(history.pending).toBe(50);
    expect(await history.count()).toBe(0);
    await history.flush();
    expect(await history.count()).toBe(50);
    expect(history.counts).toMatchObject({ written: 50, flushes: 1 });
    const loaded = await history.load(100);
    expect(loaded.find((t) => t.uuid === 't0')?.state).toBe('FAILURE');
    await history.close();
  });

  it('writes big batches in chunks and updates rows it already has', async () => {
    const history = new TaskHistory({
      url: `sqlite://${join(dir, 'chunks.db')}`,
      flushIntervalMs: 60_000,
      flushBatchSize: 10_000,
    });
    await history.open();
    for (let i = 0; i < 1234; i++) history.save(newTask(`c${i}`, nowS()));
    await history.flush();
    history.save({ ...newTask('c1000', nowS()), state: 'SUCCESS', result: '42' });
    await history.flush();
    expect(await history.count()).toBe(1234);
    const c1000 = (await history.load(2000)).find((t) => t.uuid === 'c1000');
    expect(c1000).toMatchObject({ state: 'SUCCESS', result: '42' });
    await history.close();
  });

  it('flushes on its own at the interval and when the batch is full', async () => {
    const history = new TaskHistory({
      url: `sqlite://${join(dir, 'auto.db')}`,
      flushIntervalMs: 50,
      flushBatchSize: 10,
    });
    await history.open();
    history.save(newTask('x', nowS()));
    await new Promise((r) => setTimeout(r, 200));
    expect(await history.count()).toBe(1);
    await history.close();
  });

  it('retention deletes by age and keeps only maxRows newest', async () => {
    const history = new TaskHistory({
      url: `sqlite://${join(dir, 'retention.db')}`,
      retentionMs: 3600_000,
      maxRows: 3,
    });
    await history.open();
    history.save(newTask('ancient', nowS() - 7200));
    for (let i = 0; i < 5; i++) history.save(newTask(`n${i}`, nowS() - 100 + i));
    await history.flush(); // the first flush also prunes; later ones at most once a minute
    expect(history.counts.pruned).toBe(3);
    expect(await history.prune()).toBe(0);
    expect((await history.load(10)).map((t) => t.uuid)).toEqual(['n2', 'n3', 'n4']);
    await history.close();
  });

  it('refuses a database it cannot use, saying what works', () => {
    expect(() => new TaskHistory({ url: 'mysql://u:secret@db/x' })).toThrow(HistoryConfigError);
    expect(() => new TaskHistory({ url: 'mysql://u:secret@db/x' })).toThrow(
      /sqlite:\/\/\/path\.db.*\*\*\*@db/,
    );
    expect(sqlitePath('sqlite:///var/x.db')).toBe('/var/x.db');
    expect(sqlitePath('sqlite://')).toBe(':memory:');
  });
});

describe('Monitor restart', () => {
  it('reloads the task history, so a restart loses nothing the last flush saw', async () => {
    const url = `sqlite://${join(dir, 'restart.db')}`;
    const app = new Celeriac({ broker: `memory://monitor-restart-${process.pid}` });
    const first = new Monitor(app, { history: { url, flushIntervalMs: 60_000 }, enableEventsIntervalMs: 0 });
    await first.start();
    const base = { hostname: 'celery@w9', timestamp: nowS(), local_received: nowS(), clock: 1 };
    first.onEvent({ ...base, type: 'task-received', uuid: 'kept', name: 'tasks.kept', args: '(1,)' });
    first.onEvent({ ...base, type: 'task-succeeded', uuid: 'kept', result: '2', runtime: 0.1 });
    first.onEvent({ ...base, type: 'task-received' }); // malformed: no uuid
    await first.stop(); // flushes

    const second = new Monitor(app, { history: { url }, enableEventsIntervalMs: 0 });
    await second.start();
    expect(second.state.task('kept')).toMatchObject({ state: 'SUCCESS', name: 'tasks.kept', result: '2' });
    expect(second.state.task('kept')?.timeline).toHaveLength(2);
    await second.stop();
    await app.close();
  });
});
