import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { Celeriac, DjangoScheduleStore } from 'celeriac';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Monitor } from '../src/monitor.ts';
import { createMonitorApp } from '../src/server/app.ts';

const TOKEN = 'periodic-django-token-0123';
const bearer = { Authorization: `Bearer ${TOKEN}` };
const dir = mkdtempSync(join(tmpdir(), 'celeriac-monitor-django-'));
const dbPath = join(dir, 'db.sqlite3');

/** django-celery-beat's tables (`celeriac monitor -S django`), shown read-only. */
describe('periodic tasks from django-celery-beat (-S django)', () => {
  let app: Celeriac;
  let store: DjangoScheduleStore;
  let monitor: Monitor;
  let web: ReturnType<typeof createMonitorApp>;

  beforeAll(async () => {
    // django-celery-beat 2.4's tables (the columns its models define), with one crontab task in them.
    const db = new Database(dbPath);
    db.exec(`
      CREATE TABLE django_celery_beat_intervalschedule (id integer PRIMARY KEY, every integer, period varchar(24));
      CREATE TABLE django_celery_beat_solarschedule (id integer PRIMARY KEY, event varchar(24), latitude decimal, longitude decimal);
      CREATE TABLE django_celery_beat_clockedschedule (id integer PRIMARY KEY, clocked_time datetime);
      CREATE TABLE django_celery_beat_crontabschedule (id integer PRIMARY KEY, minute varchar(240), hour varchar(96),
        day_of_week varchar(64), day_of_month varchar(124), month_of_year varchar(64), timezone varchar(63));
      CREATE TABLE django_celery_beat_periodictask (id integer PRIMARY KEY, name varchar(200) UNIQUE, task varchar(200),
        args text, kwargs text, queue varchar(200), exchange varchar(200), routing_key varchar(200), headers text,
        priority integer, expires datetime, expire_seconds integer, one_off bool, start_time datetime, enabled bool,
        last_run_at datetime, total_run_count integer, date_changed datetime, description text,
        interval_id integer, crontab_id integer, solar_id integer, clocked_id integer);
      INSERT INTO django_celery_beat_crontabschedule VALUES (1, '*/5', '*', '*', '*', '*', 'Europe/Berlin');
      INSERT INTO django_celery_beat_periodictask VALUES (1, 'berlin', 'tasks.cron', '[]', '{}', NULL, NULL, NULL,
        '{}', NULL, NULL, NULL, 0, NULL, 1, NULL, 0, NULL, '', NULL, 1, NULL, NULL);
    `);
    db.close();
    app = new Celeriac({ broker: `memory://periodic-django-${process.pid}` });
    store = new DjangoScheduleStore({ url: `sqlite://${dbPath}` });
    monitor = new Monitor(app, { history: false, enableEventsIntervalMs: 0, schedules: store });
    web = createMonitorApp(monitor, { auth: { apiTokens: [TOKEN] } });
  });

  afterAll(async () => {
    await monitor?.stop();
    await store?.close();
    await app?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('lists Django’s entries in words, refuses edits (405) and runs one now with its header', async () => {
    const res = await web.request('/api/periodic-tasks', { headers: bearer });
    expect(await res.json()).toMatchObject({
      editable: false,
      store: expect.stringMatching(/^django:sqlite:/),
      periodic_tasks: [{ name: 'berlin', description: 'every 5 minutes (Europe/Berlin)', enabled: true }],
    });
    const put = await web.request('/api/periodic-tasks/berlin', {
      method: 'PUT',
      headers: { ...bearer, 'Content-Type': 'application/json' },
      body: JSON.stringify({ enabled: false }),
    });
    expect(put.status).toBe(405);
    expect(await put.text()).toMatch(/Django admin/);

    const transport = await app.connection();
    const run = await web.request('/api/periodic-tasks/berlin/run', { method: 'POST', headers: bearer });
    expect(run.status).toBe(200);
    expect(await transport.queueLength('celery')).toBe(1);
    const page = await (await web.request('/periodic', { headers: bearer })).text();
    expect(page).toContain('read-only here');
    expect(page).not.toContain('data-action="disable"');
  });
});
