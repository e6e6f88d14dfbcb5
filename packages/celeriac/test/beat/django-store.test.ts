import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DjangoScheduleStore } from '../../src/beat/stores/django/django-schedule-store.ts';
import { fromDbTime, toDbTime } from '../../src/beat/stores/django/django-tables.ts';
import { django as runDjango } from './django-fixture.ts';
import { fakeBeat } from './fake-beat.ts';

const dir = mkdtempSync(join(tmpdir(), 'celeriac-django-beat-'));
const dbPath = join(dir, 'db.sqlite3');
const django = (...steps: Array<[string, object?]>) => runDjango(dbPath, ...steps);

describe('django-celery-beat 2.4 tables (real Django migrations and ORM on SQLite)', () => {
  beforeAll(async () => {
    await django(
      ['migrate'],
      [
        'interval',
        {
          name: 'add every second',
          task: 'tasks.add',
          every: 1,
          period: 'seconds',
          args: [14, 15],
          kwargs: { z: 1 },
          queue: 'periodic',
          headers: { source: 'admin' },
        },
      ],
      ['interval', { name: 'once', task: 'tasks.once', every: 2, period: 'seconds', one_off: true }],
      [
        'crontab',
        { name: 'berlin', task: 'tasks.cron', minute: '*/5', hour: '*', timezone: 'Europe/Berlin' },
      ],
    );
  }, 60_000);
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('reads the entries as Celery would run them', async () => {
    const store = new DjangoScheduleStore({ url: `sqlite://${dbPath}` });
    const entries = await store.load();
    await store.close();
    const byName = Object.fromEntries(entries.map(({ entry }) => [entry.name, entry]));
    expect(String(byName['add every second']!.schedule)).toBe('every 1s');
    expect(byName['add every second']).toMatchObject({
      task: 'tasks.add',
      args: [14, 15],
      kwargs: { z: 1 },
      options: { queue: 'periodic', headers: { source: 'admin', periodic_task_name: 'add every second' } },
      oneOff: false,
      enabled: true,
    });
    expect(byName.once!.oneOff).toBe(true);
    expect(String(byName.berlin!.schedule)).toBe('crontab */5 * * * * (Europe/Berlin)');
  });

  it('sends, writes last_run_at and total_run_count as Django reads them, and picks up admin edits', async () => {
    const store = new DjangoScheduleStore({ url: `sqlite://${dbPath}` });
    const b = fakeBeat({}, { store, lease: store.lease() });
    await b.at('2024-05-01T10:00:00Z');
    await b.at('2024-05-01T10:00:01Z');
    await b.at('2024-05-01T10:00:02Z');
    expect(b.sent.map((s) => `${s.task}@${s.at}`)).toEqual([
      'tasks.add@2024-05-01T10:00:01.000Z',
      'tasks.add@2024-05-01T10:00:02.000Z',
      'tasks.once@2024-05-01T10:00:02.000Z',
    ]);
    expect(b.sent[0]!.options.headers).toEqual({ source: 'admin', periodic_task_name: 'add every second' });
    await new Promise((r) => setTimeout(r, 50)); // saves are awaited, but be kind to the file lock
    // Then an admin edit through the ORM: new args; beat sees it on its next reload (5 s).
    const [add, once] = await django(
      ['show', { name: 'add every second' }],
      ['show', { name: 'once' }],
      ['update', { name: 'add every second', args: '[1, 2]' }],
    );
    expect(add).toEqual({ enabled: true, total_run_count: 2, last_run_at: '2024-05-01T10:00:02+00:00' });
    expect(once).toMatchObject({ enabled: false, total_run_count: 1 });
    await b.at('2024-05-01T10:00:04Z');
    await b.at('2024-05-01T10:00:05Z');
    expect(b.sent.slice(3).map((s) => [s.at, s.args])).toEqual([
      ['2024-05-01T10:00:04.000Z', [14, 15]],
      ['2024-05-01T10:00:05.000Z', [1, 2]],
    ]);
    await django(['update', { name: 'add every second', enabled: false }]);
    await b.at('2024-05-01T10:00:10Z');
    await b.at('2024-05-01T10:00:12Z');
    expect(b.sent.filter((s) => s.at > '2024-05-01T10:00:05.000Z')).toEqual([]);
    await b.close();
  }, 60_000);

  it('converts Django datetimes both ways', () => {
    const t = Date.parse('2024-05-01T10:00:02.123Z');
    expect(toDbTime(t, 'sqlite')).toBe('2024-05-01 10:00:02.123000');
    // Django's own text for whole seconds (`str(datetime)`), which its lookups compare.
    expect(toDbTime(Date.parse('2024-05-01T10:00:02Z'), 'sqlite')).toBe('2024-05-01 10:00:02');
    expect(fromDbTime('2024-05-01 10:00:02.123000')).toBe(t);
    expect(fromDbTime('2024-05-01 10:00:02')).toBe(Date.parse('2024-05-01T10:00:02Z'));
    expect(fromDbTime('2024-05-01T12:00:02+02:00')).toBe(Date.parse('2024-05-01T10:00:02Z'));
    expect(fromDbTime(new Date(t))).toBe(t);
    expect(fromDbTime(null)).toBeUndefined();
  });
});
