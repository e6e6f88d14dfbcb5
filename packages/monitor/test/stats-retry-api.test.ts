import { Celeriac } from 'celeriac';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Monitor } from '../src/monitor.ts';
import { createMonitorApp } from '../src/server/app.ts';

const TOKEN = 'stats-retry-token-0123456789';
const auth = { Authorization: `Bearer ${TOKEN}` };

/** `/api/stats` and `/api/task/retry/:id` through Hono's in-process requests, on the memory broker. */
describe('stats and retry API', () => {
  let app: Celeriac;
  let monitor: Monitor;
  let web: ReturnType<typeof createMonitorApp>;
  const now = Date.now() / 1000;

  const task = (uuid: string, name: string, args: string, kwargs: string, runtime = 0.25) => {
    monitor.onEvent({ type: 'task-received', uuid, name, args, kwargs, hostname: 'w1@h', timestamp: now });
    monitor.onEvent({ type: 'task-started', uuid, hostname: 'w1@h', timestamp: now });
    monitor.onEvent({ type: 'task-succeeded', uuid, runtime, result: '1', hostname: 'w1@h', timestamp: now });
  };

  beforeAll(() => {
    app = new Celeriac({ broker: 'memory://', defaultQueue: 'h3-retry' });
    monitor = new Monitor(app, { history: false, enableEventsIntervalMs: 0 });
    web = createMonitorApp(monitor, { auth: { apiTokens: [TOKEN] } });
    task('plain-1', 'tasks.add', '(1, 2)', "{'z': True}");
    task('object-1', 'tasks.obj', '(<Thing object at 0x7f00>,)', '{}');
    monitor.onEvent({
      type: 'worker-heartbeat',
      hostname: 'w1@h',
      timestamp: now,
      freq: 2,
      active: 1,
      processed: 2,
      loadavg: [0.1, 0.2, 0.3],
    });
  });

  afterAll(async () => {
    await monitor.stop();
    await app.close();
  });

  it('GET /api/stats gives the series, percentiles, states and workers', async () => {
    const res = await web.request('/api/stats', { headers: auth });
    expect(res.status).toBe(200);
    const stats = (await res.json()) as {
      perSecond: { interval: number; succeeded: number[] };
      perMinute: { interval: number; succeeded: number[] };
      runtimes: Array<{ name: string; count: number; p50: number }>;
      states: Record<string, number>;
      workers: Array<{ hostname: string; processed: number[]; load: number[] }>;
    };
    expect(stats.perSecond.interval).toBe(1);
    expect(stats.perSecond.succeeded.reduce((a, b) => a + b)).toBe(2);
    expect(stats.perMinute.succeeded.reduce((a, b) => a + b)).toBe(2);
    expect(stats.runtimes).toContainEqual(
      expect.objectContaining({ name: 'tasks.add', count: 1, p50: 0.25 }),
    );
    expect(stats.states).toEqual({ SUCCESS: 2 });
    expect(stats.workers).toEqual([
      expect.objectContaining({ hostname: 'w1@h', processed: [2], load: [0.1] }),
    ]);
  });

  it('GET /api/stats needs a log-in', async () => {
    expect((await web.request('/api/stats')).status).toBe(401);
  });

  it('documents both in OpenAPI', async () => {
    const doc = (await (await web.request('/openapi.json', { headers: auth })).json()) as {
      paths: Record<string, unknown>;
    };
    expect(doc.paths).toHaveProperty('/api/stats');
    expect(doc.paths).toHaveProperty('/api/task/retry/{id}');
  });

  it('sends a task again with the same name and arguments, under a new id', async () => {
    const transport = await app.connection();
    const before = await transport.queueLength('h3-retry');
    const res = await web.request('/api/task/retry/plain-1', { method: 'POST', headers: auth });
    expect(res.status).toBe(200);
    const body = (await res.json()) as { 'task-id': string; message: string };
    expect(body['task-id']).not.toBe('plain-1');
    expect(body.message).toBe(`Sent again as ${body['task-id']}`);
    expect(await transport.queueLength('h3-retry')).toBe(before + 1);
  });

  it('refuses to resend arguments it cannot read back exactly (422), and unknown ids (404)', async () => {
    const transport = await app.connection();
    const before = await transport.queueLength('h3-retry');
    const res = await web.request('/api/task/retry/object-1', { method: 'POST', headers: auth });
    expect(res.status).toBe(422);
    const body = (await res.json()) as { error: { code: string; message: string } };
    expect(body.error.code).toBe('not_retryable');
    expect(body.error.message).toContain('not plain literals');
    expect(await transport.queueLength('h3-retry')).toBe(before);
    expect((await web.request('/api/task/retry/nope', { method: 'POST', headers: auth })).status).toBe(404);
  });
});
