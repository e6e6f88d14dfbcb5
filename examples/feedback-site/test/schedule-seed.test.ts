import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SqlScheduleStore, type BeatEntryDefinition, type StoredEntry } from 'celeriac';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { seedCodeSchedule } from '../src/schedule-seed.ts';

const code = (every: string): Record<string, BeatEntryDefinition> => ({
  scheduled_task: { task: 'tasks.add', schedule: { every }, args: [14, 15] },
});

/**
 * The code's beatSchedule and the entries the monitor edits share one SQL store: the code's entry
 * is written when new or changed in the code, and edits made in the monitor survive restarts.
 */
describe('seedCodeSchedule (SQLite store)', () => {
  let dir: string;
  let url: string;
  let stores: SqlScheduleStore[];
  /** A new store on the same file each time: every "start" of the site opens its own. */
  const open = () => {
    const store = new SqlScheduleStore({ url });
    stores.push(store);
    return store;
  };
  const entry = async (name: string): Promise<StoredEntry | undefined> =>
    (await open().load()).find((e) => e.entry.name === name);

  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'feedback-seed-'));
    url = `sqlite://${join(dir, 'schedule.db')}`;
    stores = [];
  });
  afterEach(async () => {
    for (const store of stores) await store.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('adds the code entry to an empty store, then leaves it alone while the code is unchanged', async () => {
    expect(await seedCodeSchedule(open(), code('5s'))).toEqual(new Map([['scheduled_task', 'added']]));
    const added = await entry('scheduled_task');
    expect(added?.entry.task).toBe('tasks.add');
    expect(added?.entry.args).toEqual([14, 15]);
    expect(added?.entry.schedule.toJSON()).toEqual({ type: 'interval', everyMs: 5000 });
    expect(await seedCodeSchedule(open(), code('5s'))).toEqual(new Map([['scheduled_task', 'kept']]));
  });

  it('keeps an edit made in the monitor (args, schedule, disabled) across restarts', async () => {
    await seedCodeSchedule(open(), code('5s'));
    await open().upsert('scheduled_task', { task: 'tasks.add', schedule: { every: '1m' }, args: [1, 2] });
    await open().setEnabled('scheduled_task', false);
    expect(await seedCodeSchedule(open(), code('5s'))).toEqual(new Map([['scheduled_task', 'kept']]));
    const kept = await entry('scheduled_task');
    expect(kept?.entry.args).toEqual([1, 2]);
    expect(kept?.entry.enabled).toBe(false);
    expect(kept?.entry.schedule.toJSON()).toEqual({ type: 'interval', everyMs: 60_000 });
  });

  it('keeps an entry deleted in the monitor deleted, and entries created there untouched', async () => {
    await seedCodeSchedule(open(), code('5s'));
    await open().remove('scheduled_task');
    await open().upsert('made_in_monitor', { task: 'tasks.add', schedule: { every: '1s' }, args: [2, 3] });
    await seedCodeSchedule(open(), code('5s'));
    expect(await entry('scheduled_task')).toBeUndefined();
    expect((await entry('made_in_monitor'))?.entry.args).toEqual([2, 3]);
  });

  it('writes the code entry again when its definition changes in the code, keeping run state', async () => {
    await seedCodeSchedule(open(), code('5s'));
    await open().upsert('scheduled_task', { task: 'tasks.add', schedule: { every: '1m' }, args: [1, 2] });
    await open().saveState('scheduled_task', { lastRunAtMs: 1_700_000_000_000, totalRunCount: 7 });
    expect(await seedCodeSchedule(open(), code('10s'))).toEqual(new Map([['scheduled_task', 'updated']]));
    const updated = await entry('scheduled_task');
    expect(updated?.entry.args).toEqual([14, 15]);
    expect(updated?.entry.schedule.toJSON()).toEqual({ type: 'interval', everyMs: 10_000 });
    expect(updated?.state.totalRunCount).toBe(7);
  });

  it('leaves a row that predates the seeding record as it is', async () => {
    await open().upsert('scheduled_task', { task: 'tasks.add', schedule: { every: '30s' }, args: [9, 9] });
    expect(await seedCodeSchedule(open(), code('5s'))).toEqual(new Map([['scheduled_task', 'kept']]));
    expect((await entry('scheduled_task'))?.entry.args).toEqual([9, 9]);
  });

  it('refuses a bad code entry with a clear error and writes nothing', async () => {
    const bad = { broken: { task: 'tasks.add', schedule: { every: 'soon' } } };
    await expect(seedCodeSchedule(open(), bad)).rejects.toThrow(/soon|interval|duration/i);
    expect(await open().load()).toEqual([]);
  });
});
