import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Beat, Celeriac, ConfigFileStore, LocalLease, SqlScheduleStore, Worker } from 'celeriac';
import type { Kysely } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { dropBeatTables } from '../../celeriac/src/beat/stores/sql/sql-schema.ts';
import {
  describeWith,
  SERVICES,
  uniqueName,
  type ServiceName,
} from '../../celeriac/test/helpers/services.ts';
import { Monitor, type MonitorOptions } from '../src/monitor.ts';
import { createMonitorApp } from '../src/server/app.ts';
import { waitFor } from './helpers.ts';

const TOKEN = 'periodic-token-0123456789';
const bearer = { Authorization: `Bearer ${TOKEN}` };
const dir = mkdtempSync(join(tmpdir(), 'celeriac-monitor-periodic-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const DATABASES: Array<{ title: string; services: ServiceName[]; url: string }> = [
  { title: 'SQLite', services: [], url: `sqlite://${join(dir, 'beat.db')}` },
  { title: 'PostgreSQL', services: ['postgres'], url: SERVICES.postgres.url },
];

interface View {
  name: string;
  task: string;
  description: string;
  enabled: boolean;
  one_off: boolean;
  args: unknown[];
  kwargs: Record<string, unknown>;
  queue: string | null;
  expires: string | number | null;
  last_run_at: string | null;
  next_run_at: string | null;
  total_run_count: number;
  schedule: Record<string, unknown>;
}

/** A monitor with `schedules`, driven through Hono's in-process `app.request`. */
function setUp(schedules: () => MonitorOptions['schedules']) {
  const ctx = {} as { app: Celeriac; monitor: Monitor; web: ReturnType<typeof createMonitorApp> };
  beforeAll(() => {
    ctx.app = new Celeriac({ broker: `memory://${uniqueName('periodic')}`, backend: 'memory://' });
    ctx.monitor = new Monitor(ctx.app, {
      history: false,
      enableEventsIntervalMs: 0,
      inspectTimeoutMs: 50,
      schedules: schedules(),
    });
    ctx.web = createMonitorApp(ctx.monitor, { auth: { apiTokens: [TOKEN] } });
  });
  afterAll(async () => {
    await ctx.monitor.stop();
    await ctx.app.close();
  });
  const call = async (method: string, path: string, body?: unknown) => {
    const res = await ctx.web.request(path, {
      method,
      headers: { ...bearer, ...(body === undefined ? {} : { 'Content-Type': 'application/json' }) },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    return { status: res.status, body: (await res.json()) as Record<string, unknown> };
  };
  return { ctx, call };
}

for (const { title, services, url } of DATABASES) {
  await describeWith(services, `periodic tasks API on ${title}`, () => {
    const prefix = uniqueName('h1p').replace(/-/g, '_');
    const store = new SqlScheduleStore({ url, tablePrefix: prefix });
    const { ctx, call } = setUp(() => store);
    const list = async () =>
      ((await call('GET', '/api/periodic-tasks')).body.periodic_tasks as View[]).map((v) => v.name);

    afterAll(async () => {
      const { db } = await store.connect();
      await dropBeatTables(db as Kysely<unknown>, store.tables);
      await store.close();
    });

    it('creates an interval entry and shows it with its schedule in words and its next run', async () => {
      const before = Date.now();
      const created = await call('POST', '/api/periodic-tasks', {
        name: 'cleanup',
        task: 'tasks.cleanup',
        schedule_type: 'interval',
        every: 30,
        period: 'seconds',
        args: [1, 'two'],
        kwargs: { dry: true },
        queue: 'maintenance',
      });
      expect(created.status).toBe(201);
      const view = created.body as unknown as View;
      expect(view).toMatchObject({
        name: 'cleanup',
        task: 'tasks.cleanup',
        description: 'every 30 seconds',
        enabled: true,
        one_off: false,
        args: [1, 'two'],
        kwargs: { dry: true },
        queue: 'maintenance',
        last_run_at: null,
        total_run_count: 0,
        schedule: { type: 'interval', everyMs: 30_000 },
      });
      const next = Date.parse(view.next_run_at!);
      expect(next).toBeGreaterThanOrEqual(before + 30_000);
      expect(next).toBeLessThanOrEqual(Date.now() + 30_000);
      expect(await list()).toEqual(['cleanup']);
      expect((await call('GET', '/api/periodic-tasks/cleanup')).body).toMatchObject({ name: 'cleanup' });
    });

    it('creates a crontab entry in a time zone; its next run is a Monday 07:30 there', async () => {
      const res = await call('POST', '/api/periodic-tasks', {
        name: 'weekly <b>report</b>',
        task: 'tasks.report',
        schedule_type: 'crontab',
        minute: '30',
        hour: '7',
        day_of_week: 'mon',
        day_of_month: '*',
        month_of_year: '*',
        timezone: 'Europe/Berlin',
        expires: 3600,
      });
      expect(res.status).toBe(201);
      const view = res.body as unknown as View;
      expect(view.description).toBe('every Monday at 07:30 (Europe/Berlin)');
      expect(view.expires).toBe(3600);
      const berlin = new Intl.DateTimeFormat('en-GB', {
        timeZone: 'Europe/Berlin',
        weekday: 'short',
        hour: '2-digit',
        minute: '2-digit',
      }).format(new Date(view.next_run_at!));
      expect(berlin).toBe('Mon 07:30');
      const ahead = Date.parse(view.next_run_at!) - Date.now();
      expect(ahead).toBeGreaterThan(0);
      expect(ahead).toBeLessThanOrEqual(7 * 86_400_000 + 3_600_000);
      const encoded = encodeURIComponent('weekly <b>report</b>');
      expect((await call('GET', `/api/periodic-tasks/${encoded}`)).status).toBe(200);
    });

    it('reads a clocked time without a zone in the time zone field; a one-off by nature', async () => {
      const res = await call('POST', '/api/periodic-tasks', {
        name: 'launch',
        task: 'tasks.launch',
        schedule_type: 'clocked',
        clocked_time: '2030-07-01T09:00',
        timezone: 'Europe/Berlin',
      });
      expect(res.status).toBe(201);
      expect(res.body).toMatchObject({
        schedule: { type: 'clocked', at: '2030-07-01T07:00:00.000Z' },
        description: 'once at 2030-07-01 07:00 UTC',
        one_off: true,
        next_run_at: '2030-07-01T07:00:00.000Z',
      });
      expect((await call('DELETE', '/api/periodic-tasks/launch')).status).toBe(200);
    });

    it('refuses an invalid crontab with an error per field, and stores nothing', async () => {
      const res = await call('POST', '/api/periodic-tasks', {
        name: 'broken',
        task: 'tasks.x',
        schedule_type: 'crontab',
        minute: '61',
        hour: '*/0',
        day_of_week: 'funday',
      });
      expect(res.status).toBe(400);
      const fields = res.body.fields as Record<string, string>;
      expect(fields.minute).toMatch(/minute "61": 61 is out of range/);
      expect(fields.hour).toMatch(/step "0" must be a positive integer/);
      expect(fields.day_of_week).toMatch(/"funday" is not a number or a name/);
      expect(res.body.error).toMatchObject({ code: 'invalid_periodic_task' });
      expect(await list()).not.toContain('broken');
    });

    it.each([
      [{ schedule_type: 'interval', every: 0, period: 'seconds' }, 'every', /greater than 0/],
      [{ schedule_type: 'interval', every: 5, period: 'weeks' }, 'period', /seconds, minutes, hours, days/],
      [{ schedule_type: 'crontab', day_of_month: '30', month_of_year: '2' }, 'day_of_month', /never occurs/],
      [{ schedule_type: 'crontab', timezone: 'Mars/Olympus' }, 'timezone', /unknown time zone/],
      [
        { schedule_type: 'solar', solar_event: 'sunset', latitude: 91, longitude: 0 },
        'latitude',
        /-90 to 90/,
      ],
      [
        { schedule_type: 'solar', solar_event: 'moonrise', latitude: 1, longitude: 0 },
        'solar_event',
        /sunrise/,
      ],
      [{ schedule_type: 'clocked', clocked_time: '2030-02-30T10:00' }, 'clocked_time', /a date and time/],
      [{ schedule_type: 'cron' }, 'schedule_type', /interval, crontab, solar, clocked/],
      [{ schedule_type: 'crontab', args: '{"a":1}' }, 'args', /JSON array/],
      [{ schedule_type: 'crontab', kwargs: '{not json' }, 'kwargs', /not JSON/],
      [{ schedule_type: 'crontab', kwargs: [1] }, 'kwargs', /JSON object/],
      [{ schedule_type: 'crontab', queue: 'two words' }, 'queue', /no spaces/],
      [{ schedule_type: 'crontab', expires: 'tomorrow' }, 'expires', /a date and time/],
      [{ schedule_type: 'crontab', enabled: 'maybe' }, 'enabled', /true or false/],
      [{ schedule_type: 'crontab', task: '' }, 'task', /required/],
      [{ schedule_type: 'crontab', name: 'a\u0000b' }, 'name', /control characters/],
      [{ schedule_type: 'crontab', name: 'cleanup' }, 'name', /already exists/],
      [{}, 'schedule_type', /required: interval, crontab, solar or clocked/],
    ])('400 for %j: %s', async (fields, field, message) => {
      const before = await list();
      const res = await call('POST', '/api/periodic-tasks', { name: 'bad-one', task: 't.x', ...fields });
      expect(res.status).toBe(400);
      expect((res.body.fields as Record<string, string>)[field]).toMatch(message);
      expect(await list()).toEqual(before);
    });

    it('400 for unknown fields and for a body that is not a JSON object', async () => {
      const unknown = await call('POST', '/api/periodic-tasks', {
        name: 'u',
        task: 't',
        schedule_type: 'crontab',
        colour: 'red',
      });
      expect(unknown.status).toBe(400);
      expect((unknown.body.error as { message: string }).message).toMatch(/unknown field\(s\): colour/);
      const res = await ctx.web.request('/api/periodic-tasks', {
        method: 'POST',
        headers: { ...bearer, 'Content-Type': 'application/json' },
        body: '[1,',
      });
      expect(res.status).toBe(400);
      expect(await res.json()).toMatchObject({ error: { message: 'the body is not valid JSON' } });
    });

    it('PUT changes only the fields given; a bad one changes nothing', async () => {
      const off = await call('PUT', '/api/periodic-tasks/cleanup', { enabled: false });
      expect(off.status).toBe(200);
      expect(off.body).toMatchObject({ enabled: false, args: [1, 'two'], queue: 'maintenance' });
      expect(off.body.next_run_at).toBeNull();
      const bad = await call('PUT', '/api/periodic-tasks/cleanup', {
        schedule_type: 'crontab',
        minute: '61',
      });
      expect(bad.status).toBe(400);
      expect((bad.body.fields as Record<string, string>).minute).toMatch(/out of range/);
      const same = (await call('GET', '/api/periodic-tasks/cleanup')).body;
      expect(same).toMatchObject({ description: 'every 30 seconds', enabled: false });
      const on = await call('PUT', '/api/periodic-tasks/cleanup', {
        enabled: true,
        every: 2,
        period: 'minutes',
      });
      expect(on.body).toMatchObject({ enabled: true, description: 'every 2 minutes' });
    });

    it('renames an entry with PUT name', async () => {
      await call('POST', '/api/periodic-tasks', { name: 'old', task: 't.x', schedule_type: 'crontab' });
      const res = await call('PUT', '/api/periodic-tasks/old', { name: 'new-name' });
      expect(res.status).toBe(200);
      expect(await list()).toContain('new-name');
      expect(await list()).not.toContain('old');
      expect((await call('DELETE', '/api/periodic-tasks/new-name')).status).toBe(200);
      expect((await call('GET', '/api/periodic-tasks/new-name')).status).toBe(404);
    });

    it('404 with a JSON error for an unknown name on every route', async () => {
      for (const [method, path] of [
        ['GET', '/api/periodic-tasks/nope'],
        ['PUT', '/api/periodic-tasks/nope'],
        ['DELETE', '/api/periodic-tasks/nope'],
        ['POST', '/api/periodic-tasks/nope/run'],
      ] as const) {
        const res = await call(method, path, method === 'PUT' ? { enabled: false } : undefined);
        expect(res.status, `${method} ${path}`).toBe(404);
        expect(res.body).toMatchObject({ error: { code: 'not_found' } });
      }
    });

    it('run now sends the task with the entry’s args, kwargs and queue; a worker runs it', async () => {
      const { app } = ctx;
      app.task('tasks.cleanup', (a: unknown, b: unknown, dry: unknown) => ({ args: [a, b, dry] }), {
        params: ['a', 'b', 'dry'],
      });
      const worker = new Worker(app, { queues: ['maintenance'], concurrency: 1 });
      await worker.start();
      try {
        const res = await call('POST', '/api/periodic-tasks/cleanup/run');
        expect(res.status).toBe(200);
        const id = res.body['task-id'] as string;
        expect(res.body.task).toBe('tasks.cleanup');
        const result = await app.AsyncResult(id).get({ timeout: 10_000 });
        expect(result).toEqual({ args: [1, 'two', true] });
      } finally {
        await worker.stop();
      }
      // A manual run is not one of beat's: the count stays.
      expect((await call('GET', '/api/periodic-tasks/cleanup')).body.total_run_count).toBe(0);
    });

    it('shows last run and total runs from the store once a real Beat sends the entry', async () => {
      await call('POST', '/api/periodic-tasks', {
        name: 'tick',
        task: 'tasks.tick',
        schedule_type: 'interval',
        every: 1,
        period: 'seconds',
      });
      const beatStore = new SqlScheduleStore({ url, tablePrefix: prefix, reloadEveryMs: 200 });
      const beat = new Beat(ctx.app, { store: beatStore, lease: new LocalLease(), maxLoopIntervalMs: 200 });
      await beat.start();
      try {
        const view = await waitFor(
          async () => {
            const v = (await call('GET', '/api/periodic-tasks/tick')).body as unknown as View;
            return v.total_run_count >= 2 ? v : undefined;
          },
          15_000,
          'beat to send tick twice',
        );
        expect(Date.parse(view.last_run_at!)).toBeLessThanOrEqual(Date.now());
        expect(Date.parse(view.next_run_at!)).toBe(Date.parse(view.last_run_at!) + 1000);
      } finally {
        await beat.stop();
      }
    });

    it('documents every periodic route in the OpenAPI document, and each answers', async () => {
      const doc = (await (await ctx.web.request('/openapi.json', { headers: bearer })).json()) as {
        paths: Record<string, Record<string, unknown>>;
      };
      const paths = Object.keys(doc.paths).filter((p) => p.startsWith('/api/periodic-tasks'));
      expect(paths.sort()).toEqual([
        '/api/periodic-tasks',
        '/api/periodic-tasks/preview',
        '/api/periodic-tasks/{name}',
        '/api/periodic-tasks/{name}/run',
      ]);
      for (const path of paths) {
        if (!('get' in doc.paths[path]!)) continue;
        const res = await ctx.web.request(path.replace('{name}', 'tick'), { headers: bearer });
        expect(res.status, path).toBe(200);
      }
    });
  });
}

describe('periodic tasks API without a store, or with a read-only one', () => {
  const none = setUp(() => undefined);
  it('says how to configure a store (501)', async () => {
    const res = await none.call('GET', '/api/periodic-tasks');
    expect(res.status).toBe(501);
    expect(res.body).toMatchObject({ error: { code: 'no_schedule_store' } });
    expect((res.body.error as { message: string }).message).toMatch(/-S db --db-url/);
  });

  it('previews a schedule in words without a store, with an error per schedule field', async () => {
    const ok = await none.call('POST', '/api/periodic-tasks/preview', {
      schedule_type: 'crontab',
      minute: '0',
      hour: '0',
      day_of_month: '1',
    });
    expect(ok).toEqual({ status: 200, body: { description: 'at 00:00 on day 1 of the month' } });
    const bad = await none.call('POST', '/api/periodic-tasks/preview', {
      schedule_type: 'crontab',
      minute: '*/0',
      args: 'not checked here',
    });
    expect(bad.status).toBe(400);
    expect(bad.body.fields).toEqual({ minute: expect.stringMatching(/step "0" must be a positive integer/) });
  });

  const file = setUp(
    () =>
      new ConfigFileStore({
        entries: { heartbeat: { task: 'tasks.beat', schedule: { crontab: '*/15 * * * *' } } },
        file: join(dir, 'beat-state.json'),
      }),
  );
  it('lists a file store’s entries but refuses changes (405)', async () => {
    const res = await file.call('GET', '/api/periodic-tasks');
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({
      editable: false,
      periodic_tasks: [{ name: 'heartbeat', description: 'every 15 minutes' }],
    });
    const create = await file.call('POST', '/api/periodic-tasks', { name: 'x', task: 'y' });
    expect(create.status).toBe(405);
    expect((create.body.error as { message: string }).message).toMatch(/read-only/);
    expect((await file.call('DELETE', '/api/periodic-tasks/heartbeat')).status).toBe(405);
  });
});
