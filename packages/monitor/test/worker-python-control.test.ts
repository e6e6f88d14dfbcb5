import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Celeriac } from 'celeriac';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { describeWith, SERVICES, uniqueName } from '../../celeriac/test/helpers/services.ts';
import { Monitor } from '../src/monitor.ts';
import { createMonitorApp } from '../src/server/app.ts';
import { waitFor } from './helpers.ts';

const PYTHON = '/usr/bin/python3';
const FIXTURES = fileURLToPath(new URL('./fixtures/', import.meta.url));
const TOKEN = 'worker-python-token-0123456789';
const bearer = { Authorization: `Bearer ${TOKEN}` };

/** The worker controls against a real Python Celery 5.2 prefork worker: Flower's users have those. */
await describeWith(['rabbitmq'], 'worker control API against a Python Celery worker', () => {
  if (!existsSync(PYTHON)) throw new Error(`${PYTHON} with celery is required for the interop tests`);
  const queue = uniqueName('h11-pyctl');
  const extraQueue = `${queue}-extra`;
  const node = `${queue}@test`;
  let child: ChildProcess;
  let output = '';
  let app: Celeriac;
  let monitor: Monitor;
  let web: ReturnType<typeof createMonitorApp>;

  const post = async (path: string, body: Record<string, unknown> = {}) => {
    const res = await web.request(path, {
      method: 'POST',
      headers: { ...bearer, 'content-type': 'application/json' },
      body: JSON.stringify(body),
    });
    return {
      status: res.status,
      body: (await res.json()) as { message?: string; error?: { message: string } },
    };
  };
  const inspect = async () => {
    const info = (await monitor.inspect(node)).get(node);
    if (!info) throw new Error(`${node} did not answer inspect; worker said:\n${output}`);
    return info;
  };

  beforeAll(async () => {
    app = new Celeriac({ broker: SERVICES.rabbitmq.url, defaultQueue: queue });
    monitor = new Monitor(app, { history: false, inspectTimeoutMs: 2000 });
    await monitor.start();
    web = createMonitorApp(monitor, { auth: { apiTokens: [TOKEN] } });
    child = spawn(
      PYTHON,
      ['-m', 'celery', '-A', 'py_monitor_app', 'worker', '-E', '-Q', queue, '-n', node, '-c', '1'].concat([
        '-P',
        'prefork',
        '-l',
        'INFO',
        '--without-mingle',
        '--without-gossip',
      ]),
      {
        cwd: FIXTURES,
        env: { ...process.env, CELERIAC_TEST_BROKER: SERVICES.rabbitmq.url, PYTHONUNBUFFERED: '1' },
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    child.stdout!.on('data', (d: Buffer) => (output += d.toString()));
    child.stderr!.on('data', (d: Buffer) => (output += d.toString()));
    await waitFor(() => monitor.state.isAlive(node), 25_000, `${node} online`);
  }, 30_000);

  afterAll(async () => {
    if (child && child.exitCode === null && child.signalCode === null) {
      const closed = once(child, 'close');
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
      await closed;
      clearTimeout(timer);
    }
    await monitor?.stop();
    const transport = await app.connection();
    for (const q of [queue, extraQueue]) await transport.deleteQueue(q).catch(() => undefined);
    await app.close();
  });

  it('sets rate and time limits, which the Python worker then reports for the task', async () => {
    const rate = await post('/api/task/rate-limit/pymon.mul', { ratelimit: '5/m', workername: node });
    expect(rate).toEqual({
      status: 200,
      body: { message: 'new rate limit set for pymon.mul: 5/m: new rate limit set successfully' },
    });
    const time = await post('/api/task/timeout/pymon.mul', { soft: 10, hard: 20, workername: node });
    expect(time.status).toBe(200);
    const registered = (await inspect()).registered as string[];
    const mul = registered.find((r) => r.startsWith('pymon.mul'));
    expect(mul).toMatch(/^pymon\.mul \[/);
    expect(mul).toContain('rate_limit=5/m');
    expect(mul).toContain('time_limit=20');
    expect(mul).toContain('soft_time_limit=10');

    const unknown = await post('/api/task/rate-limit/pymon.nope', { ratelimit: '1/s', workername: node });
    expect(unknown.status).toBe(404);
    expect(unknown.body.error?.message).toContain('unknown task');
  });

  it('grows and shrinks the prefork pool (its child pids in stats)', async () => {
    const pids = async () =>
      ((await inspect()).stats as { pool: { processes: number[] } }).pool.processes.length;
    expect(await pids()).toBe(1);
    expect(await post(`/api/worker/pool/grow/${node}`, { n: 1 })).toEqual({
      status: 200,
      body: { message: 'pool will grow' },
    });
    await waitFor(async () => (await pids()) === 2, 15_000, 'a second pool process');
    expect((await post(`/api/worker/pool/shrink/${node}`, { n: 1 })).status).toBe(200);
    await waitFor(async () => (await pids()) === 1, 15_000, 'back to one pool process');
  });

  it('adds and cancels a consumer; autoscale is refused with the worker’s reason', async () => {
    const queues = async () =>
      ((await inspect()).active_queues as Array<{ name: string }>).map((q) => q.name);
    expect((await post(`/api/worker/queue/add-consumer/${node}`, { queue: extraQueue })).status).toBe(200);
    await waitFor(async () => (await queues()).includes(extraQueue), 10_000, 'the new queue');
    expect((await post(`/api/worker/queue/cancel-consumer/${node}`, { queue: extraQueue })).status).toBe(200);
    await waitFor(async () => !(await queues()).includes(extraQueue), 10_000, 'the queue gone');

    const autoscale = await post(`/api/worker/pool/autoscale/${node}`, { max: 3, min: 1 });
    expect(autoscale.status).toBe(403);
    expect(autoscale.body.error?.message).toContain('Autoscale not enabled');
  });

  it('shows the Python worker’s page: prefork pool, limits, rusage', async () => {
    const page = await (await web.request(`/worker/${encodeURIComponent(node)}`, { headers: bearer })).text();
    const pid = ((await inspect()).stats as { pool: { processes: number[] } }).pool.processes[0];
    expect(page).toMatch(new RegExp(`<tr data-key="processes">\\s*<th>processes</th>\\s*<td>${pid}</td>`));
    expect(page).toMatch(/<tr data-key="writes">[\s\S]*?strategy=fair/);
    expect(page).toMatch(/<tr data-task="pymon.mul">[\s\S]*?<td data-field="rate_limit">5\/m<\/td>/);
    expect(page).toMatch(/data-table="rusage"[\s\S]*?maxrss/);
  });
});
