import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Celeriac } from 'celeriac';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Monitor } from '../src/monitor.ts';
import { createMonitorApp } from '../src/server/app.ts';

/** Bad ids and bad list queries get a clear JSON error (or an escaped error page), never a 500. */
describe('API with bad ids and bad queries', () => {
  const dir = mkdtempSync(join(tmpdir(), 'celeriac-monitor-badapi-'));
  const app = new Celeriac({ broker: `memory://h4-badapi-${process.pid}` });
  const token = 'a-token-of-sixteen-chars';
  const bearer = { authorization: `Bearer ${token}` };
  let monitor: Monitor;
  let web: ReturnType<typeof createMonitorApp>;

  beforeAll(async () => {
    monitor = new Monitor(app, {
      history: { url: `sqlite://${join(dir, 'h.db')}` },
      enableEventsIntervalMs: 0,
    });
    await monitor.start();
    web = createMonitorApp(monitor, { auth: { apiTokens: [token] } });
  });
  afterAll(async () => {
    await monitor.stop();
    await app.close();
    rmSync(dir, { recursive: true, force: true });
  });

  const BAD_IDS = [
    'no-such-task',
    encodeURIComponent('a/b'),
    encodeURIComponent('..\\..\\etc'),
    encodeURIComponent('<script>alert(1)</script>'),
    'x'.repeat(256),
    'x'.repeat(20_000),
  ];

  it('404 with a JSON error for task info, and for revoking an id no task can have', async () => {
    for (const id of BAD_IDS) {
      for (const [method, path] of [
        ['GET', `/api/task/info/${id}`],
        // Revoking a well-formed id nobody has seen yet is allowed (Celery keeps it in `revoked`).
        ...(id === 'no-such-task' ? [] : ([['POST', `/api/task/revoke/${id}`]] as const)),
      ] as const) {
        const res = await web.request(path, { method, headers: bearer });
        expect(res.status, `${method} ${path.slice(0, 60)}`).toBe(404);
        expect(res.headers.get('content-type')).toMatch(/application\/json/);
        const body = (await res.json()) as { error: { code: string; message: string } };
        expect(body.error.code).toBe('not_found');
        expect(body.error.message.length).toBeLessThan(400);
      }
    }
  });

  it('an unencoded slash is no route: still a JSON 404', async () => {
    const res = await web.request('/api/task/info/a/b', { headers: bearer });
    expect(res.status).toBe(404);
    expect(((await res.json()) as { error: { code: string } }).error.code).toBe('not_found');
  });

  it('the task page escapes a hostile id in its 404', async () => {
    const res = await web.request(`/task/${encodeURIComponent('<img src=x onerror=alert(1)>')}`, {
      headers: { ...bearer, accept: 'text/html' },
    });
    expect(res.status).toBe(404);
    const text = await res.text();
    expect(text).not.toContain('<img src=x');
  });

  it('400 with the reason for bad list queries', async () => {
    for (const [query, reason] of [
      ['limit=abc', /limit/],
      ['limit=100000', /limit/],
      ['after=garbage', /cursor/],
      [`before=${Buffer.from('["x","y"]').toString('base64url')}`, /cursor/],
      [`search=${'s'.repeat(600)}`, /search/],
      ['received_start=not-a-date', /received_start/],
      ['sort_by=uuid;drop', /sort_by/],
    ] as const) {
      const res = await web.request(`/api/tasks?${query}`, { headers: bearer });
      expect(res.status, query).toBe(400);
      const body = (await res.json()) as { error: { message: string } };
      expect(body.error.message, query).toMatch(reason);
    }
  });
});
