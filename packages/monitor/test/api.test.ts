import { Celeriac } from 'celeriac';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Monitor } from '../src/monitor.ts';
import { createMonitorApp, MonitorConfigError } from '../src/server/app.ts';
import { hashPassword } from '../src/server/auth.ts';

const TOKEN = 'test-token-0123456789abcdef';
const XSS = `<script>alert("x")</script><img src=x onerror=alert(1)>`;
const now = () => Date.now() / 1000;

let app: Celeriac;
let monitor: Monitor;
let web: ReturnType<typeof createMonitorApp>;

beforeAll(async () => {
  app = new Celeriac({ broker: `memory://monitor-api-${process.pid}` });
  monitor = new Monitor(app, { history: false, enableEventsIntervalMs: 0, inspectTimeoutMs: 100 });
  web = createMonitorApp(monitor, {
    auth: {
      users: { admin: await hashPassword('correct horse') },
      apiTokens: [TOKEN],
      throttle: { maxFailures: 3, failureDelayMs: 1 },
    },
  });
  const base = { hostname: 'celery@api-w1', clock: 1, local_received: now() };
  monitor.onEvent({ ...base, type: 'worker-online', freq: 60, timestamp: now(), active: 0, processed: 0 });
  for (let i = 0; i < 30; i++) {
    monitor.onEvent({
      ...base,
      type: 'task-received',
      uuid: `id-${i}`,
      name: i % 2 ? 'tasks.odd' : 'tasks.even',
      args: `(${i},)`,
      kwargs: '{}',
      timestamp: now() - 100 + i,
    });
    if (i % 3 === 0)
      monitor.onEvent({
        ...base,
        type: 'task-failed',
        uuid: `id-${i}`,
        exception: 'ValueError()',
        traceback: 'tb',
        timestamp: now() - 99 + i,
      });
  }
  monitor.onEvent({
    ...base,
    type: 'task-received',
    uuid: 'xss',
    name: 'tasks.evil',
    args: XSS,
    kwargs: `{'k': '${XSS}'}`,
    timestamp: now(),
  });
  monitor.onEvent({
    ...base,
    type: 'task-succeeded',
    uuid: 'xss',
    result: XSS,
    runtime: 0.01,
    timestamp: now(),
  });
});

afterAll(async () => {
  await monitor.stop();
  await app.close();
});

const bearer = { Authorization: `Bearer ${TOKEN}` };

async function login(): Promise<{ cookie: string; csrf: string }> {
  const res = await web.request('/login', {
    method: 'POST',
    body: new URLSearchParams({ username: 'admin', password: 'correct horse', next: '/tasks' }),
  });
  expect(res.status).toBe(303);
  expect(res.headers.get('location')).toBe('/tasks');
  const setCookie = res.headers.get('set-cookie') ?? '';
  expect(setCookie).toMatch(/HttpOnly/i);
  expect(setCookie).toMatch(/SameSite=Strict/i);
  expect(setCookie).toMatch(/Secure/i); // localhost counts as a secure origin
  const cookie = setCookie.split(';')[0]!;
  const csrf = ((await (await web.request('/api/csrf', { headers: { cookie } })).json()) as { token: string })
    .token;
  return { cookie, csrf };
}

describe('authentication', () => {
  it('refuses to build without any way to log in', () => {
    expect(() => createMonitorApp(monitor, { auth: {} })).toThrow(MonitorConfigError);
    expect(() => createMonitorApp(monitor, { auth: { users: { a: 'plaintext' } } })).toThrow(/scrypt hash/);
  });

  it('answers the API with 401 JSON and pages with a redirect to the log-in', async () => {
    const api = await web.request('/api/workers');
    expect(api.status).toBe(401);
    expect(await api.json()).toEqual({ error: { code: 'unauthorized', message: expect.any(String) } });
    const page = await web.request('/tasks');
    expect(page.status).toBe(303);
    expect(page.headers.get('location')).toBe('/login?next=%2Ftasks');
    expect((await web.request('/metrics')).status).toBe(401);
    expect(
      (await web.request('/api/workers', { headers: { Authorization: 'Bearer wrong-token-xxxxxxxx' } }))
        .status,
    ).toBe(401);
  });

  it('slows down and then refuses repeated failed log-ins', async () => {
    // An app of its own: in-process requests share one client address, which this test locks out.
    const guarded = createMonitorApp(monitor, {
      auth: { users: { admin: await hashPassword('pw') }, throttle: { maxFailures: 3, failureDelayMs: 1 } },
    });
    const attempt = () =>
      guarded.request('/login', {
        method: 'POST',
        body: new URLSearchParams({ username: 'nobody', password: 'guess' }),
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
      });
    for (let i = 0; i < 3; i++) expect((await attempt()).status).toBe(401);
    const refused = await attempt();
    expect(refused.status).toBe(429);
    expect(Number(refused.headers.get('retry-after'))).toBeGreaterThan(0);
  });

  it('does not redirect away after log-in (open redirect)', async () => {
    const res = await web.request('/login', {
      method: 'POST',
      body: new URLSearchParams({ username: 'admin', password: 'correct horse', next: '//evil.example/' }),
    });
    expect(res.headers.get('location')).toBe('/');
  });
});

describe('CSRF', () => {
  it('refuses a change from a session without the token, and with a wrong one', async () => {
    const { cookie } = await login();
    const none = await web.request('/api/task/revoke/id-1', { method: 'POST', headers: { cookie } });
    expect(none.status).toBe(403);
    expect(((await none.json()) as { error: { code: string } }).error.code).toBe('csrf');
    const wrong = await web.request('/api/task/revoke/id-1', {
      method: 'POST',
      headers: { cookie, 'x-csrf-token': 'nope' },
    });
    expect(wrong.status).toBe(403);
  });

  it('refuses a cross-origin change even with the right token', async () => {
    const { cookie, csrf } = await login();
    const res = await web.request('/api/task/revoke/id-1', {
      method: 'POST',
      headers: { cookie, 'x-csrf-token': csrf, origin: 'https://evil.example' },
    });
    expect(res.status).toBe(403);
  });

  it('accepts the change with the session token, and a bearer token without one', async () => {
    const { cookie, csrf } = await login();
    const ok = await web.request('/api/task/revoke/id-1', {
      method: 'POST',
      headers: { cookie, 'x-csrf-token': csrf },
    });
    expect(ok.status).toBe(200);
    expect(await ok.json()).toEqual({ message: "Revoked 'id-1'" });
    const api = await web.request('/api/task/revoke/id-2?terminate=true', {
      method: 'POST',
      headers: bearer,
    });
    expect(await api.json()).toEqual({ message: "Revoked 'id-2' (terminate)" });
  });

  it('log-out needs the token too, then the session is gone', async () => {
    const { cookie, csrf } = await login();
    expect((await web.request('/logout', { method: 'POST', headers: { cookie } })).status).toBe(403);
    const out = await web.request('/logout', {
      method: 'POST',
      headers: { cookie, 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ _csrf: csrf }),
    });
    expect(out.status).toBe(303);
    expect((await web.request('/api/workers', { headers: { cookie } })).status).toBe(401);
  });
});

describe('REST API', () => {
  it('lists workers with liveness', async () => {
    const body = (await (await web.request('/api/workers', { headers: bearer })).json()) as Record<
      string,
      { online: boolean }
    >;
    expect(body['celery@api-w1']).toMatchObject({ online: true, freq: 60, processed: 0 });
  });

  it('filters and paginates tasks', async () => {
    const get = async (qs: string) =>
      (await (await web.request(`/api/tasks?${qs}`, { headers: bearer })).json()) as {
        total: number;
        tasks: Array<{ uuid: string; state: string; name: string }>;
      };
    const all = await get('limit=10');
    expect(all.total).toBe(31);
    expect(all.tasks).toHaveLength(10);
    const page2 = await get('limit=10&offset=10');
    expect(page2.tasks.map((t) => t.uuid)).not.toContain(all.tasks[0]!.uuid);
    const failed = await get('state=FAILURE');
    expect(failed.total).toBe(10);
    expect(failed.tasks.every((t) => t.state === 'FAILURE')).toBe(true);
    expect((await get('taskname=tasks.odd')).total).toBe(15);
    expect((await get('search=(7,)')).tasks.map((t) => t.uuid)).toEqual(['id-7']);
    expect((await get('search=id-2')).total).toBe(11); // id-2, id-20..29
    expect((await get(`received_start=${now() - 75}`)).total).toBeLessThan(31);
    expect((await get('sort_by=received&limit=1')).tasks[0]!.uuid).toBe('id-0');
    const bad = await web.request('/api/tasks?limit=0', { headers: bearer });
    expect(bad.status).toBe(400);
    expect(((await bad.json()) as { error: { code: string } }).error.code).toBe('bad_request');
  });

  it('gives one task, and a 404 JSON error for an unknown or malformed id', async () => {
    const info = await web.request('/api/task/info/id-3', { headers: bearer });
    expect(await info.json()).toMatchObject({ uuid: 'id-3', state: 'FAILURE', exception: 'ValueError()' });
    for (const id of ['does-not-exist', '%20%20', 'a'.repeat(300)]) {
      const res = await web.request(`/api/task/info/${id}`, { headers: bearer });
      expect(res.status).toBe(404);
      expect(res.headers.get('content-type')).toMatch(/application\/json/);
      expect(((await res.json()) as { error: { code: string } }).error.code).toBe('not_found');
    }
  });

  it('sends a task by name, and rejects a bad body with a clear 400', async () => {
    const res = await web.request('/api/task/send-task/tasks.add', {
      method: 'POST',
      headers: { ...bearer, 'content-type': 'application/json' },
      body: JSON.stringify({ args: [1, 2], options: { queue: `monitor-api-q-${process.pid}` } }),
    });
    expect(res.status).toBe(200);
    const sent = (await res.json()) as { 'task-id': string };
    expect(sent['task-id']).toMatch(/^[0-9a-f-]{36}$/);
    const transport = await app.connection();
    expect(await transport.queueLength(`monitor-api-q-${process.pid}`)).toBe(1);

    for (const body of [
      '{not json',
      JSON.stringify({ args: 'x' }),
      JSON.stringify({ args: [], options: { countdown: -1 } }),
      JSON.stringify({ bogus: 1 }),
    ]) {
      const bad = await web.request('/api/task/send-task/tasks.add', {
        method: 'POST',
        headers: { ...bearer, 'content-type': 'application/json' },
        body,
      });
      expect(bad.status).toBe(400);
      expect(((await bad.json()) as { error: { message: string } }).error.message.length).toBeGreaterThan(3);
    }
    expect(await transport.queueLength(`monitor-api-q-${process.pid}`)).toBe(1);
  });

  it('validates rate limits', async () => {
    const bad = await web.request('/api/task/rate-limit/tasks.add', {
      method: 'POST',
      headers: { ...bearer, 'content-type': 'application/json' },
      body: JSON.stringify({ ratelimit: 'fast' }),
    });
    expect(bad.status).toBe(400);
    const ok = await web.request('/api/task/rate-limit/tasks.add?ratelimit=10/m', {
      method: 'POST',
      headers: bearer,
    });
    expect(ok.status).toBe(200);
    expect(await ok.json()).toMatchObject({ message: 'new rate limit set for tasks.add: 10/m', replies: {} });
  });

  it('worker controls answer 404 for a worker nobody has seen', async () => {
    const res = await web.request('/api/worker/pool/grow/celery@nowhere', {
      method: 'POST',
      headers: bearer,
    });
    expect(res.status).toBe(404);
  });

  it('reports queue lengths', async () => {
    const body = (await (await web.request('/api/queues/length', { headers: bearer })).json()) as {
      active_queues: Array<{ name: string; messages: number }>;
    };
    expect(body.active_queues).toContainEqual({ name: 'celery', messages: 0 });
  });

  it('describes itself in OpenAPI, and every GET path it documents answers', async () => {
    const doc = (await (await web.request('/openapi.json', { headers: bearer })).json()) as {
      openapi: string;
      paths: Record<string, Record<string, unknown>>;
    };
    expect(doc.openapi).toBe('3.1.0');
    for (const [path, ops] of Object.entries(doc.paths)) {
      if (!('get' in ops) || path === '/api/events') continue;
      if (path.startsWith('/api/periodic-tasks')) continue; // needs a store: periodic-api.test.ts
      const res = await web.request(path.replace('{id}', 'id-3'), { headers: bearer });
      // 501: this app has no result backend (no SQL one for /api/results), and says so.
      const unbacked = path === '/api/task/result/{id}' || path.startsWith('/api/results');
      expect(res.status, path).toBe(unbacked ? 501 : 200);
      expect(res.status, path).not.toBe(404);
    }
  });

  it("exposes Flower's metric names", async () => {
    const text = await (await web.request('/metrics', { headers: bearer })).text();
    expect(text).toContain(
      'flower_events_total{worker="celery@api-w1",type="task-received",task="tasks.odd"} 15',
    );
    expect(text).toContain('flower_worker_online{worker="celery@api-w1"} 1');
    expect(text).toContain('flower_task_runtime_seconds_count{worker="celery@api-w1",task="tasks.evil"} 1');
    expect(text).toContain('# TYPE flower_worker_number_of_currently_executing_tasks gauge');
    expect(text).toContain('# TYPE flower_task_prefetch_time_seconds gauge');
  });
});

describe('live updates (SSE)', () => {
  it('needs a log-in, then streams the summary and task changes as they happen', async () => {
    expect((await web.request('/api/events')).status).toBe(401);
    const controller = new AbortController();
    const res = await web.request('/api/events', { headers: bearer, signal: controller.signal });
    expect(res.headers.get('content-type')).toMatch(/text\/event-stream/);
    const reader = res.body!.getReader();
    let text = '';
    const readUntil = async (pattern: RegExp) => {
      while (!pattern.test(text)) {
        const { value, done } = await reader.read();
        if (done) throw new Error(`stream ended before ${pattern}: ${text}`);
        text += new TextDecoder().decode(value);
      }
    };
    await readUntil(/event: summary/);
    monitor.onEvent({
      type: 'task-received',
      uuid: 'live-1',
      name: 'tasks.live',
      hostname: 'celery@api-w1',
      timestamp: now(),
      clock: 2,
    });
    await readUntil(/event: task\ndata: .*live-1/);
    const line = text.split('\n').find((l) => l.startsWith('data: ') && l.includes('live-1'))!;
    const [task] = JSON.parse(line.slice(6)) as Array<Record<string, unknown>>;
    expect(task).toMatchObject({
      uuid: 'live-1',
      name: 'tasks.live',
      state: 'RECEIVED',
      lastEvent: { type: 'task-received' },
    });
    expect(task).not.toHaveProperty('timeline');
    controller.abort();
    await reader.cancel().catch(() => undefined);
  });

  it('sends first what changed between the page render and the stream connecting, then resumes by Last-Event-ID', async () => {
    const { cookie } = await login();
    const page = await (await web.request('/tasks', { headers: { cookie } })).text();
    const since = /<meta name="live-since" content="(\d+)"/.exec(page)?.[1];
    expect(since).toBeDefined();
    expect(page).not.toContain('gap-1');
    // The task finishes after the page was rendered, before its script opens the stream.
    const task = { hostname: 'celery@api-w1', uuid: 'gap-1', clock: 3 };
    monitor.onEvent({ ...task, type: 'task-received', name: 'tasks.gap', timestamp: now() });
    monitor.onEvent({ ...task, type: 'task-succeeded', result: '5', runtime: 0.1, timestamp: now() });

    const first = await firstBatch(`/api/events?since=${since}`);
    expect(first.tasks.map((t) => t.uuid)).toEqual(['gap-1']);
    expect(first.tasks[0]).toMatchObject({ state: 'SUCCESS', name: 'tasks.gap', result: '5' });
    expect(Number(first.id)).toBeGreaterThan(Number(since));
    // Without `since` (an old page, a client of its own) nothing is replayed.
    expect((await firstBatch('/api/events')).tasks).toEqual([]);
    // A reconnect with the last id it saw gets only what came after it.
    monitor.onEvent({ ...task, uuid: 'gap-2', type: 'task-received', name: 'tasks.gap', timestamp: now() });
    const resumed = await firstBatch(`/api/events?since=${since}`, { 'Last-Event-ID': first.id });
    expect(resumed.tasks.map((t) => t.uuid)).toEqual(['gap-2']);

    for (const bad of ['abc', '-1', '1e3']) {
      const res = await web.request(`/api/events?since=${bad}`, { headers: bearer });
      expect(res.status, bad).toBe(400);
      expect(((await res.json()) as { error: { message: string } }).error.message).toMatch(/since/);
    }
  });
});

/** Opens `/api/events` and reads its first batch: the replayed tasks (if any) and the batch's SSE id. */
async function firstBatch(
  path: string,
  headers: Record<string, string> = {},
): Promise<{ tasks: Array<Record<string, unknown>>; id: string }> {
  const controller = new AbortController();
  const res = await web.request(path, { headers: { ...bearer, ...headers }, signal: controller.signal });
  expect(res.status).toBe(200);
  const reader = res.body!.getReader();
  let text = '';
  try {
    // The first summary closes the first batch (task and worker events come before it).
    while (!/event: summary\ndata: .*\nid: \d+\n/.test(text)) {
      const { value, done } = await reader.read();
      if (done) throw new Error(`stream ended before its first summary: ${text}`);
      text += new TextDecoder().decode(value);
    }
  } finally {
    controller.abort();
    await reader.cancel().catch(() => undefined);
  }
  const head = text.slice(0, text.indexOf('event: summary'));
  const data = /event: task\ndata: (.*)\n/.exec(head)?.[1];
  return {
    tasks: data ? (JSON.parse(data) as Array<Record<string, unknown>>) : [],
    id: /event: summary\ndata: .*\nid: (\d+)\n/.exec(text)![1]!,
  };
}

describe('pages', () => {
  it('escapes task data everywhere: list, detail, dashboard', async () => {
    const { cookie } = await login();
    for (const path of ['/tasks', '/task/xss', '/', '/tasks?search=script']) {
      const res = await web.request(path, { headers: { cookie } });
      expect(res.status, path).toBe(200);
      const page = await res.text();
      expect(page, path).not.toContain('<script>alert');
      expect(page, path).not.toContain('<img src=x');
      expect(page, path).toContain('&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;');
      expect(res.headers.get('content-security-policy')).toContain("script-src 'self'");
    }
  });

  it('escapes what the user typed back into the filter form', async () => {
    const { cookie } = await login();
    const page = await (
      await web.request(`/tasks?search=${encodeURIComponent('"><script>x</script>')}`, {
        headers: { cookie },
      })
    ).text();
    expect(page).not.toContain('"><script>x');
    expect(page).toContain('&quot;&gt;&lt;script&gt;x');
  });

  it('shows a 404 page for an unknown task, escaping the id', async () => {
    const { cookie } = await login();
    const res = await web.request(`/task/${encodeURIComponent('<b>nope</b>')}`, { headers: { cookie } });
    expect(res.status).toBe(404);
    const page = await res.text();
    expect(page).toContain('task &lt;b&gt;nope&lt;/b&gt; not found');
  });

  it('serves the live script with a JavaScript type', async () => {
    const { cookie } = await login();
    const page = await (await web.request('/', { headers: { cookie } })).text();
    const src = /<script type="module" src="([^"]+)"/.exec(page)?.[1];
    expect(src).toMatch(/^\/static\/assets\/main-[\w-]+\.js$/);
    const res = await web.request(src!);
    expect(res.headers.get('content-type')).toMatch(/text\/javascript/);
    expect(res.headers.get('cache-control')).toContain('immutable');
    const js = await res.text();
    expect(js).toContain('textContent');
    expect(js).not.toContain('innerHTML');
  });
});
