import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BeatEntryError } from '../../src/beat/errors.ts';
import { DjangoScheduleStore } from '../../src/beat/stores/django/django-schedule-store.ts';
import { intervalRow } from '../../src/beat/stores/django/django-writes.ts';
import { django as runDjango } from './django-fixture.ts';

const dir = mkdtempSync(join(tmpdir(), 'celeriac-django-writes-'));
const dbPath = join(dir, 'db.sqlite3');
const django = (...steps: Array<[string, object?]>) => runDjango(dbPath, ...steps);

interface Read {
  invalid: Record<string, string[]> | null;
  task: string;
  args: unknown[];
  kwargs: Record<string, unknown>;
  options: Record<string, unknown>;
  expires: string | null;
  expire_seconds: number | null;
  enabled: boolean;
  one_off: boolean;
  last_run_at: string | null;
  total_run_count: number;
  description: string;
  schedule: Record<string, unknown>;
  schedule_id: number;
}
type Counts = Record<
  'PeriodicTask' | 'IntervalSchedule' | 'CrontabSchedule' | 'SolarSchedule' | 'ClockedSchedule',
  number
>;
/** Each Django start-up takes a second or more: a test asks everything it needs in one. */
const read = (name: string): [string, object] => ['read', { name }];
const COUNTS: [string] = ['counts'];
const LAST_CHANGE: [string] = ['last_change'];

/**
 * The monitor's edits (`upsert`, `setEnabled`, `remove`) written into the tables Django's own
 * migrations create, then read back through Django's ORM: `full_clean()` (the admin's validation)
 * and `ModelEntry` (what django-celery-beat's scheduler runs).
 */
describe('DjangoScheduleStore edits, read back by django-celery-beat 2.4 (SQLite)', () => {
  let store: DjangoScheduleStore;
  // What Django last read, carried from test to test (they run in order) to save start-ups.
  let lastChange: string | null;
  let lastCounts: Counts;

  beforeAll(async () => {
    // An interval the admin already made, for the store to reuse.
    [lastChange] = (await django(
      ['migrate'],
      ['interval', { name: 'admin-made', task: 'tasks.admin', every: 10, period: 'seconds' }],
      LAST_CHANGE,
    )) as [string | null];
    store = new DjangoScheduleStore({ url: `sqlite://${dbPath}` });
  }, 60_000);
  afterAll(async () => {
    await store?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('creates interval, crontab, solar and clocked tasks that Django validates and runs as written', async () => {
    const before = lastChange;
    await store.upsert('every-10s', {
      task: 'tasks.add',
      schedule: { every: '10s' },
      args: [2, 3],
      kwargs: { note: 'ünïcode <b>' },
    });
    await store.upsert('weekly', {
      task: 'tasks.report',
      schedule: { crontab: { minute: '30', hour: '7', dayOfWeek: '1', timezone: 'Europe/Berlin' } },
      kwargs: { to: 'ops' },
      queue: 'reports',
      priority: 5,
      headers: { source: 'monitor' },
      expires: 3600,
    });
    await store.upsert('sunset', {
      task: 'tasks.lights',
      schedule: { solar: 'sunset', latitude: 40.7128, longitude: -74.006 },
      enabled: false,
    });
    await store.upsert('new-year', {
      task: 'tasks.greet',
      schedule: { clocked: '2030-01-01T09:00:00Z' },
      expires: new Date('2030-01-02T00:00:00Z'),
    });

    const [every, adminMade, weekly, sunset, newYear, rows, after] = (await django(
      read('every-10s'),
      read('admin-made'),
      read('weekly'),
      read('sunset'),
      read('new-year'),
      COUNTS,
      LAST_CHANGE,
    )) as [Read, Read, Read, Read, Read, Counts, string];
    expect(every).toMatchObject({
      invalid: null,
      task: 'tasks.add',
      args: [2, 3],
      kwargs: { note: 'ünïcode <b>' },
      enabled: true,
      one_off: false,
      total_run_count: 0,
      description: '',
      schedule: { kind: 'interval', every: 10, period: 'seconds', seconds: 10 },
    });
    // The admin's "every 10 seconds" row is reused, not copied.
    expect(every.schedule_id).toBe(adminMade.schedule_id);

    expect(weekly).toMatchObject({
      invalid: null,
      kwargs: { to: 'ops' },
      options: {
        queue: 'reports',
        priority: 5,
        headers: { source: 'monitor' },
        periodic_task_name: 'weekly',
      },
      expire_seconds: 3600,
      schedule: {
        kind: 'crontab',
        minute: '30',
        hour: '7',
        day_of_week: '1',
        day_of_month: '*',
        month_of_year: '*',
        timezone: 'Europe/Berlin',
        celery_tz: 'Europe/Berlin',
        celery_hours: [7],
        celery_days: [1],
      },
    });
    expect(sunset).toMatchObject({
      invalid: null,
      enabled: false,
      schedule: { kind: 'solar', event: 'sunset', latitude: '40.712800', longitude: '-74.006000' },
    });
    expect(newYear).toMatchObject({
      invalid: null,
      one_off: true,
      expires: '2030-01-02T00:00:00+00:00',
      schedule: { kind: 'clocked', clocked_time: '2030-01-01T09:00:00+00:00' },
    });
    expect(rows).toEqual({
      PeriodicTask: 5,
      IntervalSchedule: 1,
      CrontabSchedule: 1,
      SolarSchedule: 1,
      ClockedSchedule: 1,
    });
    // Django's beat reloads when this moves.
    expect(Date.parse(after)).toBeGreaterThan(before === null ? 0 : Date.parse(before));
  }, 30_000);

  it('loads back what it wrote, with periodic_task_name added once, not stored', async () => {
    const byName = Object.fromEntries((await store.load()).map((s) => [s.entry.name, s.entry]));
    expect(String(byName['every-10s']!.schedule)).toBe('every 10s');
    expect(String(byName.weekly!.schedule)).toBe('crontab 30 7 * * 1 (Europe/Berlin)');
    expect(byName.weekly!.options).toEqual({
      queue: 'reports',
      priority: 5,
      headers: { source: 'monitor', periodic_task_name: 'weekly' },
    });
    expect(byName.weekly!.expireSeconds).toBe(3600);
    expect(String(byName.sunset!.schedule)).toBe('solar sunset (40.7128, -74.006)');
    expect(byName['new-year']!.expiresAtMs).toBe(Date.parse('2030-01-02T00:00:00Z'));

    // Saving the loaded entry again (the monitor's edit form does) must not store the added header.
    const weekly = byName.weekly!;
    await store.upsert('weekly', {
      task: weekly.task,
      schedule: weekly.schedule,
      kwargs: { ...weekly.kwargs },
      queue: weekly.options.queue,
      priority: weekly.options.priority,
      headers: weekly.options.headers,
      expires: weekly.expireSeconds,
    });
    const [reread] = (await django(read('weekly'))) as [Read];
    expect(reread.options.headers).toEqual({ source: 'monitor' });
  }, 30_000);

  it('an edit keeps the row and its run count, and points it at an equal schedule row or a new one', async () => {
    const weeklyBefore = (await store.load()).find((s) => s.entry.name === 'weekly')!;
    await store.saveState('weekly', { totalRunCount: 4, lastRunAtMs: Date.parse('2026-11-23T06:30:00Z') });
    await store.upsert('weekly', {
      task: 'tasks.report',
      schedule: { crontab: { minute: '30', hour: '8', dayOfWeek: '1-5', timezone: 'Europe/Berlin' } },
      kwargs: { to: 'everyone' },
    });
    await store.upsert('also-weekly', {
      task: 'tasks.report',
      schedule: { crontab: { minute: '30', hour: '8', dayOfWeek: '1-5', timezone: 'Europe/Berlin' } },
    });
    const [edited, also, rows, changed] = (await django(
      read('weekly'),
      read('also-weekly'),
      COUNTS,
      LAST_CHANGE,
    )) as [Read, Read, Counts, string];
    [lastCounts, lastChange] = [rows, changed];
    expect(edited).toMatchObject({
      invalid: null,
      kwargs: { to: 'everyone' },
      options: { headers: {}, periodic_task_name: 'weekly' },
      expire_seconds: null,
      total_run_count: 4,
      last_run_at: '2026-11-23T06:30:00+00:00',
      schedule: { hour: '8', day_of_week: '1-5', celery_days: [1, 2, 3, 4, 5] },
    });
    expect(String(weeklyBefore.entry.schedule)).toBe('crontab 30 7 * * 1 (Europe/Berlin)');
    expect(also.schedule_id).toBe(edited.schedule_id);
    expect(rows.CrontabSchedule).toBe(2);
  }, 30_000);

  it('disabling clears last_run_at, as Django’s save() does; enabling turns it back on', async () => {
    const before = lastChange!;
    await store.setEnabled('weekly', false);
    const [disabled, after] = (await django(read('weekly'), LAST_CHANGE)) as [Read, string];
    expect(disabled).toMatchObject({ enabled: false, last_run_at: null, total_run_count: 4 });
    expect(Date.parse(after)).toBeGreaterThan(Date.parse(before));
    await store.setEnabled('weekly', true);
    const loaded = (await store.load()).find((s) => s.entry.name === 'weekly')!;
    expect(loaded.entry.enabled).toBe(true);
    expect(loaded.state.lastRunAtMs).toBeUndefined();
  }, 30_000);

  it('removes the task and keeps its schedule row for others, as the admin does', async () => {
    const before = lastCounts;
    await store.remove('also-weekly');
    const [exists, after, weekly] = (await django(
      ['exists', { name: 'also-weekly' }],
      COUNTS,
      read('weekly'),
    )) as [boolean, Counts, Read];
    expect(exists).toBe(false);
    expect(after).toEqual({ ...before, PeriodicTask: before.PeriodicTask - 1 });
    // The schedule row it shared with `weekly` is still there, and `weekly` with it.
    expect(weekly).toMatchObject({ invalid: null, enabled: true, schedule: { hour: '8' } });
    lastCounts = after;
  }, 30_000);

  it('refuses what Django’s columns cannot hold, with the reason, and writes nothing', async () => {
    const before = lastCounts;
    const refused: Array<[string, Parameters<DjangoScheduleStore['upsert']>[1], RegExp]> = [
      [
        'precise',
        { task: 't', schedule: { solar: 'sunrise', latitude: 40.71281234, longitude: 0 } },
        /latitude 40\.71281234: django-celery-beat keeps at most 6 decimal places/,
      ],
      ['urgent', { task: 't', schedule: '1m', priority: 300 }, /priority 300: .*0 to 255/],
      ['fractional', { task: 't', schedule: '1m', expires: 1.5 }, /expire_seconds holds whole seconds/],
      ['x'.repeat(201), { task: 't', schedule: '1m' }, /name is longer than django-celery-beat's 200/],
      ['bad-cron', { task: 't', schedule: { crontab: '61 * * * *' } }, /61/],
    ];
    for (const [name, def, why] of refused) {
      const error = await store.upsert(name, def).then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(error, name).toBeInstanceOf(BeatEntryError);
      expect(String(error), name).toMatch(why);
    }
    expect(await django(COUNTS)).toEqual([before]);
  }, 30_000);

  it('chooses the largest whole Django period for an interval', () => {
    expect(intervalRow(90_000)).toEqual({ every: 90, period: 'seconds' });
    expect(intervalRow(7_200_000)).toEqual({ every: 2, period: 'hours' });
    expect(intervalRow(172_800_000)).toEqual({ every: 2, period: 'days' });
    expect(intervalRow(1500)).toEqual({ every: 1_500_000, period: 'microseconds' });
    expect(() => intervalRow(0.0005)).toThrow(/whole microseconds/);
  });
});
