import { Celeriac, type ResultBackend } from 'celeriac';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { SqlDialectName } from '../../celeriac/src/backends/sql/sql-connection.ts';
import { scratchDatabase, type ScratchDatabase } from '../../celeriac/test/backends/sql-test-databases.ts';
import { describeWith, uniqueName, type ServiceName } from '../../celeriac/test/helpers/services.ts';
import { Monitor } from '../src/monitor.ts';
import { createMonitorApp } from '../src/server/app.ts';
import { hashPassword } from '../src/server/auth.ts';

const TOKEN = 'results-token-0123456789';
const bearer = { Authorization: `Bearer ${TOKEN}` };
const XSS = '<script>alert("x")</script><img src=x onerror=alert(1)>';

interface ApiResult {
  task_id: string;
  task_name: string | null;
  status: string;
  worker: string | null;
  task_args: string | null;
  result: unknown;
  traceback: string | null;
  date_created: string;
}
interface ApiPage {
  results: ApiResult[];
  next: string | null;
  total: { count: number; kind: string };
}

const DATABASES: Array<[SqlDialectName, ServiceName[]]> = [
  ['sqlite', []],
  ['postgres', ['postgres']],
  ['mysql', ['mysql']],
];

for (const [dialect, services] of DATABASES) {
  await describeWith(services, `results API and pages (${dialect})`, () => {
    let db: ScratchDatabase;
    let app: Celeriac;
    let monitor: Monitor;
    let web: ReturnType<typeof createMonitorApp>;
    const startedAt = Date.now();

    beforeAll(async () => {
      db = await scratchDatabase(dialect);
      app = new Celeriac({ broker: `memory://${uniqueName('results')}`, backend: db.url });
      monitor = new Monitor(app, { history: false, enableEventsIntervalMs: 0, inspectTimeoutMs: 100 });
      web = createMonitorApp(monitor, {
        auth: { users: { admin: await hashPassword('pw-results') }, apiTokens: [TOKEN] },
      });
      const backend = (await app.backend()) as ResultBackend;
      const base = { children: [], date_done: null, worker: 'celery@results', kwargs: {} };
      for (let i = 0; i < 12; i++) {
        await backend.store(
          {
            ...base,
            task_id: `r-${String(i).padStart(2, '0')}`,
            status: i % 3 === 0 ? 'FAILURE' : 'SUCCESS',
            result: i % 3 === 0 ? { exc_type: 'ValueError', exc_message: [`bad ${i}`] } : i * 10,
            traceback: i % 3 === 0 ? `Traceback (most recent call last):\n  line ${i}` : null,
            name: i % 2 ? 'tasks.odd' : 'tasks.even',
            args: [i, `needle-${i}`],
          },
          {},
        );
      }
      await backend.store(
        {
          ...base,
          task_id: 'evil',
          status: 'SUCCESS',
          result: XSS,
          traceback: null,
          name: 'tasks.evil',
          args: [XSS],
        },
        {},
      );
    });

    afterAll(async () => {
      await monitor?.stop();
      await app?.close();
      await db?.drop();
    });

    const get = async (path: string) => {
      const res = await web.request(path, { headers: bearer });
      return {
        status: res.status,
        body: (await res.json()) as ApiPage & ApiResult & { error?: { code: string } },
      };
    };

    it('lists newest first and pages with the cursor until the end', async () => {
      const ids: string[] = [];
      let path = '/api/results?limit=5';
      for (let i = 0; i < 10; i++) {
        const { status, body } = await get(path);
        expect(status).toBe(200);
        expect(body.total).toEqual({ count: 13, kind: 'exact' });
        ids.push(...body.results.map((r) => r.task_id));
        if (!body.next) break;
        path = `/api/results?limit=5&cursor=${body.next}`;
      }
      expect(ids).toEqual([
        'evil',
        ...Array.from({ length: 12 }, (_, i) => `r-${String(11 - i).padStart(2, '0')}`),
      ]);
      const first = (await get('/api/results?limit=2')).body.results[1]!;
      expect(first).toMatchObject({
        task_id: 'r-11',
        task_name: 'tasks.odd',
        status: 'SUCCESS',
        result: 110,
      });
      expect(first.worker).toBe('celery@results');
      expect(Date.parse(first.date_created)).toBeGreaterThanOrEqual(startedAt - 2000);
    });

    it('filters by state, task name, search and date range', async () => {
      const ids = async (query: string) =>
        (await get(`/api/results?${query}`)).body.results.map((r) => r.task_id);
      expect(await ids('state=FAILURE')).toEqual(['r-09', 'r-06', 'r-03', 'r-00']);
      expect(await ids('state=failure,SUCCESS&taskname=tasks.even&limit=3')).toEqual([
        'r-10',
        'r-08',
        'r-06',
      ]);
      expect(await ids('search=needle-7')).toEqual(['r-07']);
      expect(await ids('search=r-0')).toHaveLength(10);
      expect(await ids('search=r-05')).toEqual(['r-05']);
      const future = Math.ceil(Date.now() / 1000) + 3600;
      expect(await ids(`date_from=${future}`)).toEqual([]);
      expect(await ids(`date_to=${future}&state=FAILURE`)).toHaveLength(4);
      expect(await ids('date_from=2000-01-01T00:00&taskname=tasks.evil')).toEqual(['evil']);
    });

    it('answers bad filters with 400 and an unknown id with 404', async () => {
      for (const query of ['date_from=yesterday', 'state=<b>', 'limit=0', 'cursor=bm9wZQ', 'cursor=a%20b']) {
        const { status, body } = await get(`/api/results?${query}`);
        expect(status, query).toBe(400);
        expect(body.error?.code).toBe('bad_request');
      }
      expect((await get('/api/results/nope')).status).toBe(404);
      const del = await web.request('/api/results/nope', { method: 'DELETE', headers: bearer });
      expect(del.status).toBe(404);
    });

    it('shows one result with its traceback and deletes it (the API needs a CSRF token from a session)', async () => {
      const { status, body } = await get('/api/results/r-03');
      expect(status).toBe(200);
      expect(body).toMatchObject({
        task_id: 'r-03',
        status: 'FAILURE',
        result: { exc_type: 'ValueError', exc_message: ['bad 3'] },
        task_args: '[3,"needle-3"]',
      });
      expect(body.traceback).toContain('line 3');

      const login = await web.request('/login', {
        method: 'POST',
        body: new URLSearchParams({ username: 'admin', password: 'pw-results', next: '/results' }),
      });
      const cookie = (login.headers.get('set-cookie') ?? '').split(';')[0]!;
      const refused = await web.request('/api/results/r-03', { method: 'DELETE', headers: { cookie } });
      expect(refused.status).toBe(403);
      expect((await get('/api/results/r-03')).status).toBe(200);

      const deleted = await web.request('/api/results/r-03', { method: 'DELETE', headers: bearer });
      expect(deleted.status).toBe(200);
      expect((await get('/api/results/r-03')).status).toBe(404);
      expect((await get('/api/results?state=FAILURE')).body.total.count).toBe(3);
    });

    it('renders the list and detail pages with task data escaped, and deletes from a plain form', async () => {
      const login = await web.request('/login', {
        method: 'POST',
        body: new URLSearchParams({ username: 'admin', password: 'pw-results', next: '/results' }),
      });
      const cookie = (login.headers.get('set-cookie') ?? '').split(';')[0]!;
      const list = await (await web.request('/results?limit=20', { headers: { cookie } })).text();
      expect(list).toContain('data-task-id="r-11"');
      expect(list).toMatch(/12 results|13 results/);
      expect(list).not.toContain('<script>alert');
      expect(list).not.toContain('<img src=x');
      expect(list).toContain('&lt;script&gt;alert');

      const detail = await (await web.request('/results/evil', { headers: { cookie } })).text();
      expect(detail).toContain('data-field="result"');
      expect(detail).not.toContain('<script>alert');
      expect(detail).not.toContain('<img src=x');
      const csrf = /name="_csrf" value="([^"]+)"/.exec(detail)?.[1];
      expect(csrf).toBeTruthy();

      const withoutToken = await web.request('/results/r-05/delete', {
        method: 'POST',
        headers: { cookie, 'content-type': 'application/x-www-form-urlencoded' },
        body: '',
      });
      expect(withoutToken.status).toBe(403);
      const res = await web.request('/results/r-05/delete', {
        method: 'POST',
        headers: { cookie, 'content-type': 'application/x-www-form-urlencoded' },
        body: new URLSearchParams({ _csrf: csrf! }),
      });
      expect(res.status).toBe(303);
      expect(res.headers.get('location')).toBe('/results?deleted=r-05');
      const after = await (await web.request('/results?deleted=r-05', { headers: { cookie } })).text();
      expect(after).toContain('Deleted result r-05.');
      expect(after).not.toContain('data-task-id="r-05"');
      expect((await web.request('/results/r-05', { headers: { cookie } })).status).toBe(404);
    });
  });
}

describe('results without an SQL result backend', () => {
  let app: Celeriac;
  let monitor: Monitor;
  let web: ReturnType<typeof createMonitorApp>;
  beforeAll(() => {
    app = new Celeriac({ broker: `memory://${uniqueName('nosql')}`, backend: 'memory://' });
    monitor = new Monitor(app, { history: false, enableEventsIntervalMs: 0 });
    web = createMonitorApp(monitor, { auth: { apiTokens: [TOKEN], insecureNoAuth: true } });
  });
  afterAll(async () => {
    await monitor.stop();
    await app.close();
  });

  it('says so on the page and answers the API with 501', async () => {
    const api = await web.request('/api/results', { headers: bearer });
    expect(api.status).toBe(501);
    expect(((await api.json()) as { error: { code: string } }).error.code).toBe('no_sql_result_backend');
    const page = await web.request('/results');
    expect(page.status).toBe(200);
    expect(await page.text()).toMatch(
      /id="results-unavailable"[^>]*>Results are browsed in an SQL result backend/,
    );
  });
});
