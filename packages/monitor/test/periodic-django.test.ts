import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Celeriac, DjangoScheduleStore } from 'celeriac';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { django as runDjango } from '../../celeriac/test/beat/django-fixture.ts';
import { Monitor } from '../src/monitor.ts';
import { createMonitorApp } from '../src/server/app.ts';

const TOKEN = 'periodic-django-token-0123';
const bearer = { Authorization: `Bearer ${TOKEN}` };
const dir = mkdtempSync(join(tmpdir(), 'celeriac-monitor-django-'));
const dbPath = join(dir, 'db.sqlite3');
const django = (...steps: Array<[string, object?]>) => runDjango(dbPath, ...steps);

interface DjangoRead {
  invalid: unknown;
  enabled: boolean;
  args: unknown[];
  kwargs: Record<string, unknown>;
  last_run_at: string | null;
  schedule: Record<string, unknown>;
}

/** django-celery-beat's tables (`celeriac monitor -S django`), made by Django's migrations and edited here. */
describe('periodic tasks in django-celery-beat’s tables (-S django)', () => {
  let app: Celeriac;
  let store: DjangoScheduleStore;
  let monitor: Monitor;
  let web: ReturnType<typeof createMonitorApp>;

  beforeAll(async () => {
    await django(
      ['migrate'],
      [
        'crontab',
        { name: 'berlin', task: 'tasks.cron', minute: '*/5', hour: '*', timezone: 'Europe/Berlin' },
      ],
    );
    app = new Celeriac({ broker: `memory://periodic-django-${process.pid}` });
    store = new DjangoScheduleStore({ url: `sqlite://${dbPath}` });
    monitor = new Monitor(app, { history: false, enableEventsIntervalMs: 0, schedules: store });
    web = createMonitorApp(monitor, { auth: { apiTokens: [TOKEN] } });
  }, 60_000);

  afterAll(async () => {
    await monitor?.stop();
    await store?.close();
    await app?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  const call = (method: string, path: string, body?: unknown) =>
    web.request(path, {
      method,
      headers: { ...bearer, ...(body === undefined ? {} : { 'Content-Type': 'application/json' }) },
      body: body === undefined ? undefined : JSON.stringify(body),
    });

  it('lists Django’s entries in words and runs one now with its header', async () => {
    const res = await call('GET', '/api/periodic-tasks');
    expect(await res.json()).toMatchObject({
      editable: true,
      store: expect.stringMatching(/^django:sqlite:/),
      periodic_tasks: [{ name: 'berlin', description: 'every 5 minutes (Europe/Berlin)', enabled: true }],
    });
    const transport = await app.connection();
    const run = await call('POST', '/api/periodic-tasks/berlin/run');
    expect(run.status).toBe(200);
    expect(await transport.queueLength('celery')).toBe(1);
    const page = await (await web.request('/periodic', { headers: bearer })).text();
    expect(page).toContain('id="periodic-new"');
    expect(page).toContain('data-action="disable"');
  });

  it('creates, disables and deletes through the API; Django’s ORM reads each change', async () => {
    const created = await call('POST', '/api/periodic-tasks', {
      name: 'weekly',
      task: 'tasks.report',
      schedule_type: 'crontab',
      minute: '30',
      hour: '7',
      day_of_week: 'mon',
      timezone: 'Europe/Berlin',
      args: [1, 'two'],
      kwargs: { to: 'ops' },
    });
    expect(created.status).toBe(201);
    expect(((await created.json()) as { description: string }).description).toBe(
      'every Monday at 07:30 (Europe/Berlin)',
    );
    const off = await call('PUT', '/api/periodic-tasks/berlin', { enabled: false });
    expect(off.status).toBe(200);

    const [weekly, berlin] = (await django(['read', { name: 'weekly' }], ['read', { name: 'berlin' }])) as [
      DjangoRead,
      DjangoRead,
    ];
    expect(weekly).toMatchObject({
      invalid: null,
      enabled: true,
      args: [1, 'two'],
      kwargs: { to: 'ops' },
      schedule: { kind: 'crontab', minute: '30', hour: '7', day_of_week: 'mon', timezone: 'Europe/Berlin' },
    });
    expect(berlin).toMatchObject({ invalid: null, enabled: false, last_run_at: null });

    expect((await call('DELETE', '/api/periodic-tasks/weekly')).status).toBe(200);
    expect(await django(['exists', { name: 'weekly' }])).toEqual([false]);
  }, 30_000);
});
