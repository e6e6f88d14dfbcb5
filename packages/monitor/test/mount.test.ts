import { Celeriac } from 'celeriac';
import { Hono } from 'hono';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Monitor } from '../src/monitor.ts';
import { createMonitorApp, MonitorConfigError } from '../src/server/app.ts';
import { hashPassword } from '../src/server/auth.ts';

const TOKEN = 'mount-token-0123456789';
const bearer = { Authorization: `Bearer ${TOKEN}` };
let app: Celeriac;
let monitor: Monitor;
let users: Record<string, string>;
/** A site that mounts the monitor the plain way: default (strict) routing, a 404 of its own. */
let site: Hono;
let cookie: string;

beforeAll(async () => {
  app = new Celeriac({ broker: `memory://mount-${process.pid}` });
  monitor = new Monitor(app, { history: false, enableEventsIntervalMs: 0, inspectTimeoutMs: 50 });
  users = { admin: await hashPassword('pw-for-mount') };
  site = new Hono();
  site.get('/', (c) => c.text('site home'));
  site.notFound((c) => c.text('the site’s own 404', 404));
  site.route(
    '/monitor',
    createMonitorApp(monitor, {
      basePath: '/monitor',
      auth: { users, apiTokens: [TOKEN] },
      homeLink: { href: '/', label: '← Site <home>' },
    }),
  );
  const login = await site.request('/monitor/login', {
    method: 'POST',
    body: new URLSearchParams({ username: 'admin', password: 'pw-for-mount', next: '/monitor/' }),
  });
  expect(login.status).toBe(303);
  expect(login.headers.get('location')).toBe('/monitor/');
  cookie = (login.headers.get('set-cookie') ?? '').split(';')[0]!;
});

afterAll(async () => {
  await monitor.stop();
  await app.close();
});

const get = (path: string, headers: Record<string, string> = { cookie }) => site.request(path, { headers });

describe('the monitor mounted with parent.route(path, app) on a strict parent', () => {
  it('answers its dashboard at both /monitor and /monitor/ (where log-in sends you)', async () => {
    for (const path of ['/monitor', '/monitor/']) {
      const res = await get(path);
      expect(res.status, path).toBe(200);
      const page = await res.text();
      expect(page).toContain('<title>Dashboard · Celeriac monitor</title>');
      expect(page).toContain('<a href="/monitor/tasks"');
    }
  });

  it('sends a visitor without a session from /monitor/ to its log-in page', async () => {
    const res = await get('/monitor/', {});
    expect(res.status).toBe(303);
    expect(res.headers.get('location')).toBe('/monitor/login?next=%2Fmonitor%2F');
  });

  it('shows the home link first in the nav, escaped', async () => {
    const page = await (await get('/monitor/')).text();
    const nav = /<nav>([\s\S]*?)<\/nav>/.exec(page)?.[1] ?? '';
    expect(nav.trim()).toMatch(/^<a class="home-link" href="\/">← Site &lt;home&gt;<\/a>/);
  });

  it('answers an unknown page under the mount with its own HTML error page', async () => {
    const res = await get('/monitor/no-such-page');
    expect(res.status).toBe(404);
    expect(res.headers.get('content-type')).toMatch(/text\/html/);
    expect(res.headers.get('content-security-policy')).toContain("default-src 'none'");
    const page = await res.text();
    expect(page).toContain('<title>Error 404 · Celeriac monitor</title>');
    expect(page).toContain('no route for GET /monitor/no-such-page');
    expect(page).not.toContain('the site’s own 404');
  });

  it('answers an unknown API path, or a POST to one, with JSON', async () => {
    const res = await get('/monitor/api/no-such-thing', bearer);
    expect(res.status).toBe(404);
    expect(await res.json()).toEqual({
      error: { code: 'not_found', message: 'no route for GET /monitor/api/no-such-thing' },
    });
    const post = await site.request('/monitor/api/no-such-thing', { method: 'POST', headers: bearer });
    expect(post.status).toBe(404);
    expect(((await post.json()) as { error: { code: string } }).error.code).toBe('not_found');
  });

  it('answers a missing static file with its own 404, not the site’s', async () => {
    const res = await get('/monitor/static/assets/missing-0000.js');
    expect(res.status).toBe(404);
    expect(await res.text()).toContain('static file assets/missing-0000.js not found');
  });

  it('still needs a log-in for unknown paths, and leaves the site’s paths alone', async () => {
    const anonymous = await get('/monitor/api/no-such-thing', {});
    expect(anonymous.status).toBe(401);
    expect(await (await get('/')).text()).toBe('site home');
    const elsewhere = await get('/monitorish');
    expect(elsewhere.status).toBe(404);
    expect(await elsewhere.text()).toBe('the site’s own 404');
  });
});

describe('the monitor on its own', () => {
  it('has no home link unless given one, and 404s unknown paths with its page', async () => {
    const web = createMonitorApp(monitor, { auth: { apiTokens: [TOKEN] } });
    const page = await (await web.request('/', { headers: bearer })).text();
    expect(page).toContain('<title>Dashboard · Celeriac monitor</title>');
    expect(page).not.toContain('home-link');
    const missing = await web.request('/api/nothing-here', { headers: bearer });
    expect(missing.status).toBe(404);
    expect(await missing.json()).toEqual({
      error: { code: 'not_found', message: 'no route for GET /api/nothing-here' },
    });
  });

  it('refuses a home link that is not a path or an http(s) URL', () => {
    for (const href of ['javascript:alert(1)', '//evil.example/', 'site']) {
      expect(() =>
        createMonitorApp(monitor, { auth: { apiTokens: [TOKEN] }, homeLink: { href, label: 'Site' } }),
      ).toThrow(MonitorConfigError);
    }
    expect(() =>
      createMonitorApp(monitor, { auth: { apiTokens: [TOKEN] }, homeLink: { href: '/', label: ' ' } }),
    ).toThrow(/label must not be empty/);
    expect(() =>
      createMonitorApp(monitor, {
        auth: { apiTokens: [TOKEN] },
        homeLink: { href: 'https://example.com/', label: 'Site' },
      }),
    ).not.toThrow();
  });
});
