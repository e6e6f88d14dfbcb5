import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Celeriac, SqlScheduleStore } from 'celeriac';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Monitor } from '../src/monitor.ts';
import { createMonitorApp } from '../src/server/app.ts';
import { hashPassword } from '../src/server/auth.ts';

const XSS = '<img src=x onerror="alert(1)">';
const dir = mkdtempSync(join(tmpdir(), 'celeriac-monitor-periodic-pages-'));
let app: Celeriac;
let store: SqlScheduleStore;
let monitor: Monitor;
let web: ReturnType<typeof createMonitorApp>;
let cookie: string;
let csrf: string;

beforeAll(async () => {
  app = new Celeriac({ broker: `memory://periodic-pages-${process.pid}` });
  app.task('tasks.report', () => 'ok');
  store = new SqlScheduleStore({ url: `sqlite://${join(dir, 'beat.db')}` });
  monitor = new Monitor(app, {
    history: false,
    enableEventsIntervalMs: 0,
    inspectTimeoutMs: 50,
    schedules: store,
  });
  web = createMonitorApp(monitor, { auth: { users: { admin: await hashPassword('pw-for-pages') } } });
  const login = await web.request('/login', {
    method: 'POST',
    body: new URLSearchParams({ username: 'admin', password: 'pw-for-pages', next: '/periodic' }),
  });
  cookie = (login.headers.get('set-cookie') ?? '').split(';')[0]!;
  csrf = ((await (await web.request('/api/csrf', { headers: { cookie } })).json()) as { token: string })
    .token;
});

afterAll(async () => {
  await monitor.stop();
  await store.close();
  await app.close();
  rmSync(dir, { recursive: true, force: true });
});

const get = (path: string) => web.request(path, { headers: { cookie } });
/** `token: null` sends no CSRF token at all. */
const post = (path: string, fields: Record<string, string>, token: string | null = csrf) =>
  web.request(path, {
    method: 'POST',
    headers: { cookie },
    body: new URLSearchParams({ ...(token === null ? {} : { _csrf: token }), ...fields }),
  });
const crontabForm = (fields: Record<string, string> = {}) => ({
  name: 'weekly',
  task: 'tasks.report',
  schedule_type: 'crontab',
  minute: '30',
  hour: '7',
  day_of_week: '1',
  day_of_month: '*',
  month_of_year: '*',
  timezone: 'UTC',
  args: '[]',
  kwargs: '{"to": "ops"}',
  enabled: 'on',
  ...fields,
});
const names = async () => (await store.load()).map((s) => s.entry.name).sort();

describe('Periodic tasks pages', () => {
  it('the new form offers the app’s task names and every field of the contract', async () => {
    const res = await get('/periodic/new');
    expect(res.status).toBe(200);
    const page = await res.text();
    expect(page).toContain('<option value="tasks.report">');
    for (const field of [
      'name',
      'task',
      'every',
      'minute',
      'day_of_week',
      'solar_event',
      'clocked_time',
      'one_off',
    ])
      expect(page).toMatch(new RegExp(`name="${field}"`));
    expect(page).toContain('href="/periodic" class="active"');
  });

  it('an invalid crontab shows the field errors, keeps the other inputs and saves nothing', async () => {
    const res = await post('/periodic', crontabForm({ name: 'kept-name', minute: '61', hour: '*/0' }));
    expect(res.status).toBe(400);
    const page = await res.text();
    expect(page).toMatch(
      /class="field-error error" data-field="minute"[^>]*>crontab minute &quot;61&quot;: 61 is out of range/,
    );
    expect(page).toMatch(
      /class="field-error error" data-field="hour"[^>]*>crontab hour &quot;\*\/0&quot;: step/,
    );
    expect(page).toContain('value="kept-name"');
    expect(page).toContain('value="61"');
    expect(page).toContain('value="{&quot;to&quot;: &quot;ops&quot;}"');
    expect(page).toContain('Nothing was saved');
    expect(await names()).toEqual([]);
  });

  it('Preview shows the schedule in words without saving', async () => {
    const page = await (await post('/periodic', { ...crontabForm(), _action: 'preview' })).text();
    expect(page).toContain('<output id="schedule-preview">every Monday at 07:30</output>');
    expect(await names()).toEqual([]);
  });

  it('creates from the form, lists it, then edits it', async () => {
    const res = await post('/periodic', crontabForm());
    expect(res.status).toBe(303);
    expect(res.headers.get('location')).toBe('/periodic?done=created&name=weekly');
    const list = await (await get(res.headers.get('location')!)).text();
    expect(list).toMatch(/<tr data-periodic="weekly">[\s\S]*every Monday at 07:30[\s\S]*<\/tr>/);
    expect(list).toContain('Created periodic task weekly.');

    expect(list).toContain('<a href="/periodic/weekly/edit">weekly</a>');
    const form = await (await get('/periodic/weekly/edit')).text();
    expect(form).toContain('action="/periodic/weekly"');
    expect(form).toContain('value="30"');
    // An unticked box is not sent: the entry becomes disabled.
    const { enabled: _drop, ...rest } = crontabForm({ hour: '8' });
    expect((await post('/periodic/weekly', rest)).status).toBe(303);
    const [stored] = await store.load();
    expect(stored!.entry.enabled).toBe(false);
    expect(String(stored!.entry.schedule)).toBe('crontab 30 8 * * 1 (UTC)');
    expect(stored!.entry.kwargs).toEqual({ to: 'ops' });
  });

  it('enable, disable, run now and delete are forms; run now links the task it sent', async () => {
    expect((await post('/periodic/weekly/enable', {})).headers.get('location')).toBe(
      '/periodic?done=enabled&name=weekly',
    );
    expect((await store.load())[0]!.entry.enabled).toBe(true);
    await post('/periodic/weekly/disable', {});
    expect((await store.load())[0]!.entry.enabled).toBe(false);

    const ran = await post('/periodic/weekly/run', {});
    expect(ran.status).toBe(303);
    const location = new URL(ran.headers.get('location')!, 'http://x');
    const id = location.searchParams.get('task_id')!;
    expect(id).toMatch(/^[0-9a-f-]{36}$/);
    expect(await (await app.connection()).queueLength('celery')).toBe(1);
    const notice = await (await get(`${location.pathname}${location.search}`)).text();
    expect(notice).toContain(`<a href="/task/${id}">${id}</a>`);

    expect((await post('/periodic/weekly/delete', {})).status).toBe(303);
    expect(await names()).toEqual([]);
  });

  it('refuses every change without the CSRF token, and changes nothing', async () => {
    await post('/periodic', crontabForm({ name: 'guarded' }));
    for (const path of [
      '/periodic',
      '/periodic/guarded',
      '/periodic/guarded/disable',
      '/periodic/guarded/delete',
    ]) {
      const res = await post(path, crontabForm({ name: 'sneaky' }), null);
      expect(res.status, path).toBe(403);
      const wrong = await post(path, crontabForm({ name: 'sneaky' }), 'not-the-token');
      expect(wrong.status, path).toBe(403);
    }
    expect(await names()).toEqual(['guarded']);
    expect((await store.load())[0]!.entry.enabled).toBe(true);
  });

  it('an entry name and task args holding HTML are escaped everywhere', async () => {
    const res = await post('/periodic', crontabForm({ name: XSS, args: JSON.stringify([XSS]) }));
    expect(res.status).toBe(303);
    for (const path of ['/periodic', `/periodic/${encodeURIComponent(XSS)}/edit`]) {
      const page = await (await get(path)).text();
      expect(page).not.toContain('<img');
      expect(page).toContain('&lt;img src=x onerror=&quot;alert(1)&quot;&gt;');
    }
    expect((await post(`/periodic/${encodeURIComponent(XSS)}/delete`, {})).status).toBe(303);
  });

  it('entries named new, edit, +new or with a slash have edit forms of their own; old links still lead there', async () => {
    const tricky = ['new', 'edit', '+new', 'a/b', 'new/edit'];
    for (const name of tricky)
      expect((await post('/periodic', crontabForm({ name }))).status, name).toBe(303);
    const list = await (await get('/periodic')).text();
    for (const name of tricky) {
      const href = `/periodic/${encodeURIComponent(name)}/edit`;
      expect(list).toContain(`<a href="${href}">${name}</a>`);
      const form = await get(href);
      expect(form.status, name).toBe(200);
      const page = await form.text();
      expect(page).toContain(`<title>Periodic task ${name} · Celeriac monitor</title>`);
      expect(page).toContain(`action="/periodic/${encodeURIComponent(name)}"`);
      // Saving the form edits that entry (here: disables it), never another.
      const { enabled: _off, ...fields } = crontabForm({ name });
      expect((await post(`/periodic/${encodeURIComponent(name)}`, fields)).status, name).toBe(303);
    }
    for (const s of await store.load())
      expect(s.entry.enabled, s.entry.name).toBe(!tricky.includes(s.entry.name));

    // `/periodic/new` stays the create form (old links, the example's tests); other old edit links redirect.
    const create = await (await get('/periodic/new')).text();
    expect(create).toContain('<title>New periodic task · Celeriac monitor</title>');
    expect(create).toContain('action="/periodic"');
    const old = await get('/periodic/a%2Fb');
    expect(old.status).toBe(301);
    expect(old.headers.get('location')).toBe('/periodic/a%2Fb/edit');

    for (const name of tricky)
      expect((await post(`/periodic/${encodeURIComponent(name)}/delete`, {})).status).toBe(303);
    expect((await names()).filter((n) => tricky.includes(n))).toEqual([]);
  });

  it('404 for an unknown entry; the page says how to configure a store when there is none', async () => {
    expect((await get('/periodic/missing/edit')).status).toBe(404);
    const bare = new Monitor(app, { history: false, enableEventsIntervalMs: 0 });
    const site = createMonitorApp(bare, { auth: { insecureNoAuth: true } });
    const page = await (await site.request('/periodic')).text();
    expect(page).toMatch(
      /id="periodic-unconfigured">no schedule store: start the monitor with -S db --db-url/,
    );
  });
});
