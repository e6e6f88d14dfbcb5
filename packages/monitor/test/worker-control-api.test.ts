import { Celeriac, Worker } from 'celeriac';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { describeWith, SERVICES, uniqueName } from '../../celeriac/test/helpers/services.ts';
import { Monitor } from '../src/monitor.ts';
import { createMonitorApp } from '../src/server/app.ts';
import { waitFor } from './helpers.ts';

const TOKEN = 'worker-control-token-0123456789';
const bearer = { Authorization: `Bearer ${TOKEN}` };

interface ErrorBody {
  error: { code: string; message: string };
}

/**
 * Every worker control through the REST API against real Celeriac workers on RabbitMQ, each
 * checked by asking the worker afterwards (inspect stats / registered / active_queues).
 */
await describeWith(['rabbitmq'], 'worker control API against real Celeriac workers', () => {
  const prefix = uniqueName('h11wc');
  const plainNode = `${prefix}-plain@test`;
  const scaledNode = `${prefix}-scaled@test`;
  const extraQueue = `${prefix}-extra`;
  let app: Celeriac;
  let workerApp: Celeriac;
  let plain: Worker;
  let scaled: Worker;
  let monitor: Monitor;
  let web: ReturnType<typeof createMonitorApp>;

  const post = async (path: string, body?: Record<string, unknown>) => {
    const res = await web.request(path, {
      method: 'POST',
      headers: { ...bearer, 'content-type': 'application/json' },
      body: JSON.stringify(body ?? {}),
    });
    return { status: res.status, body: (await res.json()) as { message?: string } & Partial<ErrorBody> };
  };
  const inspect = async (node: string) => {
    const info = (await monitor.inspect(node)).get(node);
    if (!info) throw new Error(`${node} did not answer inspect`);
    return info;
  };
  const stats = async (node: string) =>
    (await inspect(node)).stats as Record<string, Record<string, unknown>>;
  const registered = async (node: string) => (await inspect(node)).registered as string[];

  beforeAll(async () => {
    app = new Celeriac({ broker: SERVICES.rabbitmq.url, defaultQueue: `${prefix}-q` });
    workerApp = new Celeriac({ broker: SERVICES.rabbitmq.url, defaultQueue: `${prefix}-q` });
    workerApp.task('tasks.add', (x: number, y: number) => x + y);
    workerApp.task('tasks.report', () => 'done', { rateLimit: '100/h' });
    const common = { queues: [`${prefix}-q`], remoteControl: true, heartbeat: true, mingle: false };
    plain = new Worker(workerApp, { ...common, hostname: plainNode, concurrency: 2 });
    scaled = new Worker(workerApp, {
      ...common,
      hostname: scaledNode,
      autoscale: { max: 3, min: 1, keepaliveMs: 60_000 },
    });
    monitor = new Monitor(app, { history: false, enableEventsIntervalMs: 0, inspectTimeoutMs: 2000 });
    await monitor.start();
    await Promise.all([plain.start(), scaled.start()]);
    web = createMonitorApp(monitor, { auth: { apiTokens: [TOKEN] } });
    await waitFor(
      () => monitor.state.isAlive(plainNode) && monitor.state.isAlive(scaledNode),
      15_000,
      'heartbeats',
    );
  }, 30_000);

  afterAll(async () => {
    await Promise.all([plain?.stop(), scaled?.stop()]);
    await monitor?.stop();
    const transport = await app.connection();
    for (const q of [`${prefix}-q`, extraQueue]) await transport.deleteQueue(q).catch(() => undefined);
    await workerApp?.close();
    await app?.close();
  });

  it('grows and shrinks the pool', async () => {
    expect((await stats(plainNode)).pool!['max-concurrency']).toBe(2);
    expect(await post(`/api/worker/pool/grow/${plainNode}`, { n: 2 })).toEqual({
      status: 200,
      body: { message: 'pool will grow' },
    });
    expect((await stats(plainNode)).pool!['max-concurrency']).toBe(4);
    expect((await post(`/api/worker/pool/shrink/${plainNode}?n=3`)).status).toBe(200);
    expect((await stats(plainNode)).pool!['max-concurrency']).toBe(1);
    // Below one task at a time: the worker refuses, with its reason.
    const refused = await post(`/api/worker/pool/shrink/${plainNode}`, { n: 1 });
    expect(refused.status).toBe(403);
    expect(refused.body.error?.message).toMatch(/pool cannot go to 0/);
    expect((await stats(plainNode)).pool!['max-concurrency']).toBe(1);
  });

  it('changes the autoscale bounds, and says when the worker does not autoscale', async () => {
    expect((await stats(scaledNode)).autoscaler).toMatchObject({ max: 3, min: 1 });
    const res = await post(`/api/worker/pool/autoscale/${scaledNode}`, { max: 5, min: 2 });
    expect(res).toEqual({ status: 200, body: { message: 'autoscale now max=5 min=2' } });
    expect((await stats(scaledNode)).autoscaler).toMatchObject({ max: 5, min: 2 });
    // The autoscaler brings the pool up to its new minimum.
    await waitFor(
      async () => (await stats(scaledNode)).pool!['max-concurrency'] === 2,
      10_000,
      'pool at min',
    );

    const off = await post(`/api/worker/pool/autoscale/${plainNode}`, { max: 5, min: 2 });
    expect(off.status).toBe(403);
    expect(off.body.error?.message).toContain('Autoscale not enabled');
  });

  it('sets a rate limit on one worker, which it then reports for the task', async () => {
    expect(await registered(plainNode)).toContain('tasks.report [rate_limit=100/h]');
    const res = await post(`/api/task/rate-limit/tasks.add`, { ratelimit: '10/m', workername: plainNode });
    expect(res).toEqual({
      status: 200,
      body: { message: 'new rate limit set for tasks.add: 10/m: new rate limit set successfully' },
    });
    expect(await registered(plainNode)).toContain('tasks.add [rate_limit=10/m]');
    // Only that worker: the other still runs tasks.add unlimited.
    expect(await registered(scaledNode)).toContain('tasks.add');
    // The page's form sends the task as a field; 0 turns the limit off.
    const off = await post(`/api/task/rate-limit`, {
      taskname: 'tasks.report',
      ratelimit: '0',
      workername: plainNode,
    });
    expect(off.status).toBe(200);
    expect(await registered(plainNode)).toContain('tasks.report');
  });

  it('sets soft and hard time limits on one worker', async () => {
    const res = await post(`/api/task/timeout/tasks.add?workername=${encodeURIComponent(plainNode)}`, {
      soft: 1.5,
      hard: 3,
    });
    expect(res.status).toBe(200);
    expect(res.body.message).toBe('time limits for tasks.add: soft=1.5 hard=3: time limits set successfully');
    expect(await registered(plainNode)).toContain(
      'tasks.add [rate_limit=10/m time_limit=3 soft_time_limit=1.5]',
    );
  });

  it('adds and cancels a consumer', async () => {
    const queues = async () =>
      ((await inspect(plainNode)).active_queues as Array<{ name: string }>).map((q) => q.name);
    const added = await post(`/api/worker/queue/add-consumer/${plainNode}`, { queue: extraQueue });
    expect(added).toEqual({ status: 200, body: { message: `add consumer ${extraQueue}` } });
    expect(await queues()).toContain(extraQueue);
    expect((await post(`/api/worker/queue/cancel-consumer/${plainNode}`, { queue: extraQueue })).status).toBe(
      200,
    );
    expect(await queues()).not.toContain(extraQueue);
  });

  it('refuses bad input with a JSON error, and the worker is left as it was', async () => {
    const before = await registered(plainNode);
    const concurrency = (await stats(plainNode)).pool!['max-concurrency'];
    const cases: Array<[string, Record<string, unknown>, number, RegExp]> = [
      ['/api/task/rate-limit/tasks.add', { ratelimit: 'abc', workername: plainNode }, 400, /ratelimit/],
      ['/api/task/rate-limit/tasks.add', { ratelimit: '5/x', workername: plainNode }, 400, /ratelimit/],
      ['/api/task/timeout/tasks.add', { soft: -1, workername: plainNode }, 400, /soft/],
      ['/api/task/timeout/tasks.add', { hard: 'soon', workername: plainNode }, 400, /hard/],
      ['/api/task/timeout/tasks.add', { soft: 5, hard: 2, workername: plainNode }, 400, /soft/],
      ['/api/task/timeout/tasks.add', { workername: plainNode }, 400, /soft and\/or hard/],
      ['/api/task/rate-limit', { ratelimit: '1/s', workername: plainNode }, 400, /taskname/],
      ['/api/task/rate-limit/tasks.nope', { ratelimit: '1/s', workername: plainNode }, 404, /unknown task/],
      ['/api/task/timeout/tasks.add', { soft: 1, workername: 'celery@nowhere' }, 404, /celery@nowhere/],
      [`/api/worker/pool/grow/${plainNode}`, { n: 0 }, 400, /n/],
      [`/api/worker/pool/grow/${plainNode}`, { n: 'lots' }, 400, /n/],
      [`/api/worker/pool/autoscale/${scaledNode}`, { max: 2, min: 4 }, 400, /min must not be above max/],
      [`/api/worker/pool/autoscale/${scaledNode}`, { max: 2 }, 400, /min/],
      [`/api/worker/queue/add-consumer/${plainNode}`, { queue: '' }, 400, /queue/],
      ['/api/worker/pool/grow/celery@nowhere', {}, 404, /worker celery@nowhere not found/],
      ['/api/worker/shutdown/celery@nowhere', {}, 404, /not found/],
      ['/api/worker/forget/celery@nowhere', {}, 404, /not found/],
    ];
    for (const [path, body, status, message] of cases) {
      const res = await post(path, body);
      expect({ path, body, status: res.status }).toEqual({ path, body, status });
      expect(res.body.error?.message).toMatch(message);
    }
    const notJson = await web.request(`/api/worker/pool/grow/${plainNode}`, {
      method: 'POST',
      headers: { ...bearer, 'content-type': 'application/json' },
      body: '{n: 1',
    });
    expect(notJson.status).toBe(400);
    expect(await registered(plainNode)).toEqual(before);
    expect((await stats(scaledNode)).autoscaler).toMatchObject({ max: 5, min: 2 });
    expect((await stats(plainNode)).pool!['max-concurrency']).toBe(concurrency);
  });

  it('a plain form post (no script) comes back to the worker page with the reply shown', async () => {
    const res = await web.request(`/api/worker/pool/grow/${encodeURIComponent(plainNode)}`, {
      method: 'POST',
      headers: { ...bearer, 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ n: '1', _page: 'pool-grow', _worker: plainNode }),
    });
    expect(res.status).toBe(303);
    const location = res.headers.get('location')!;
    expect(location).toMatch(new RegExp(`^/worker/${encodeURIComponent(plainNode)}\\?control=pool-grow&ok=`));
    const page = await (await web.request(location, { headers: bearer })).text();
    expect(page).toMatch(
      /<form[^>]*id="control-pool-grow"[\s\S]*?<output class="ok"\s*>pool will grow<\/output/,
    );

    const bad = await web.request('/api/task/rate-limit', {
      method: 'POST',
      headers: { ...bearer, 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({
        taskname: 'tasks.add',
        ratelimit: 'abc',
        workername: plainNode,
        _page: 'rate-limit',
        _worker: plainNode,
      }),
    });
    expect(bad.status).toBe(303);
    const badPage = await (await web.request(bad.headers.get('location')!, { headers: bearer })).text();
    expect(badPage).toMatch(/id="control-rate-limit"[\s\S]*?<output class="error"\s*>ratelimit: /);
  });

  it('shows the worker page with its pool, queues, limits and broker; 404 for an unknown worker', async () => {
    const res = await web.request(`/worker/${encodeURIComponent(plainNode)}`, { headers: bearer });
    expect(res.status).toBe(200);
    const page = await res.text();
    expect(page).toContain('data-table="pool"');
    expect(page).toContain('celeriac:async');
    expect(page).toMatch(
      /<tr data-task="tasks.add">[\s\S]*?<td data-field="rate_limit">10\/m<\/td>[\s\S]*?<td data-field="time_limit">3<\/td>/,
    );
    expect(page).toContain(`<tr data-queue="${prefix}-q">`);
    expect(page).toMatch(/data-table="broker"[\s\S]*?amqp/);
    expect(page).toMatch(/<details id="conf">/);
    expect((await web.request('/worker/celery%40nowhere', { headers: bearer })).status).toBe(404);
  });

  it('shuts a worker down', async () => {
    expect(await post(`/api/worker/shutdown/${scaledNode}`)).toEqual({
      status: 200,
      body: { message: `Shutting down ${scaledNode}` },
    });
    await waitFor(() => !monitor.state.isAlive(scaledNode), 15_000, 'worker-offline after shutdown');
  });
});
