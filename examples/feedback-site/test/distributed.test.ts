import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createRequire } from 'node:module';
import amqp from 'amqplib';
import pg from 'pg';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { describeWith, SERVICES, uniqueName } from '../../../packages/celeriac/test/helpers/services.ts';
import { SITE_DIR } from '../src/config.ts';
import { eventually, formSession, postForm } from './helpers.ts';

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as { port: number };
  await new Promise((r) => server.close(r));
  return port;
}

/**
 * Distributed mode for real: `npm run dev:distributed` runs `celeriac worker`, `celeriac beat`,
 * `celeriac monitor` and the site as separate processes on RabbitMQ, with results and the periodic
 * tasks in PostgreSQL (a database of its own here).
 */
await describeWith(['rabbitmq', 'postgres'], 'feedback site, distributed (RabbitMQ + PostgreSQL)', () => {
  const queue = uniqueName('feedback-site');
  const database = uniqueName('feedback').replace(/-/g, '_');
  const dir = mkdtempSync(join(tmpdir(), 'feedback-dist-'));
  let child: ChildProcess | undefined;
  let output = '';
  let url = '';
  let monitorUrl = '';

  beforeAll(async () => {
    const admin = new pg.Client({ connectionString: SERVICES.postgres.url });
    await admin.connect();
    await admin.query(`create database ${database}`);
    await admin.end();
    const [port, smtpPort, monitorPort] = [await freePort(), await freePort(), await freePort()];
    url = `http://127.0.0.1:${port}`;
    monitorUrl = `http://127.0.0.1:${monitorPort}`;
    const tsx = createRequire(import.meta.url).resolve('tsx/cli');
    child = spawn(process.execPath, [tsx, join(SITE_DIR, 'src', 'dev-distributed.ts')], {
      cwd: SITE_DIR,
      stdio: ['ignore', 'pipe', 'pipe'],
      env: {
        ...process.env,
        CELERIAC_BROKER_URL: SERVICES.rabbitmq.url,
        CELERIAC_RESULT_BACKEND: SERVICES.postgres.url.replace(/\/[^/]*$/, `/${database}`),
        CELERIAC_DEFAULT_QUEUE: queue,
        CELERIAC_LOG_FORMAT: 'json',
        PORT: String(port),
        SMTP_CATCHER_PORT: String(smtpPort),
        BEAT_ADD_EVERY: '1s',
        BEAT_SCHEDULE_FILE: join(dir, 'beat.json'),
        MONITOR_URL: monitorUrl,
        MONITOR_DB: `sqlite://${join(dir, 'monitor.db')}`,
        MONITOR_USER: '',
        MONITOR_PASSWORD: '',
        CELERIAC_MONITOR_USER: '',
        SMTP_URL: '',
      },
    });
    child.stdout!.on('data', (d: Buffer) => (output += d.toString()));
    child.stderr!.on('data', (d: Buffer) => (output += d.toString()));
    await eventually(async () => {
      if (child!.exitCode !== null) throw new Error(`dev:distributed exited:\n${output}`);
      const ok = (r: Response) => r.ok;
      const up = await fetch(url + '/').then(ok, () => false);
      const monitorUp = await fetch(monitorUrl + '/api/workers').then(ok, () => false);
      return (up && monitorUp && /feedback@\S+ ready/.test(output)) || undefined;
    }, 45_000);
  }, 60_000);

  afterAll(async () => {
    if (child && child.exitCode === null) {
      const exited = new Promise((r) => child!.once('exit', r));
      child.kill('SIGTERM');
      await exited;
    }
    const conn = await amqp.connect(SERVICES.rabbitmq.url);
    const ch = await conn.createChannel();
    await ch.deleteQueue(queue);
    await ch.deleteExchange(queue);
    await conn.close();
    const admin = new pg.Client({ connectionString: SERVICES.postgres.url });
    await admin.connect();
    await admin.query(`drop database if exists ${database} with (force)`);
    await admin.end();
    rmSync(dir, { recursive: true, force: true });
  }, 30_000);

  it('adds 4 + 1 through RabbitMQ and reads 5 from PostgreSQL', async () => {
    const session = await formSession(url, '/add');
    const res = await postForm(url, '/add', session, { x: '4', y: '1', countdown: '0' });
    expect(res.status).toBe(303);
    const id = /\/tasks\/([0-9a-f-]{36})/.exec(res.headers.get('location') ?? '')![1]!;
    const body = await eventually(async () => {
      const b = (await (await fetch(`${url}/api/tasks/${id}`)).json()) as { ready: boolean; result: unknown };
      return b.ready ? b : undefined;
    });
    expect(body.result).toBe(5);
  });

  it('sends the feedback email from the worker process to the catcher the site runs', async () => {
    const session = await formSession(url, '/feedback');
    const res = await postForm(url, '/feedback', session, {
      name: 'Dist',
      email: 'dist@example.com',
      message: 'Sent through RabbitMQ.',
    });
    expect(res.status).toBe(303);
    const outbox = await eventually(async () => {
      const html = await (await fetch(`${url}/outbox?fragment=list`)).text();
      return html.includes('dist@example.com') ? html : undefined;
    });
    expect(outbox).toContain('Sent through RabbitMQ.');
  });

  it('runs the periodic tasks.add(14, 15) from the beat process', async () => {
    const rows = await eventually(async () => {
      const html = await (await fetch(`${url}/tasks?fragment=rows`)).text();
      return html.includes('[14,15]') && html.includes('>29<') ? html : undefined;
    });
    expect(rows).toContain('tasks.add');
  });

  it('shows the worker process online in the monitor process', async () => {
    const worker = await eventually(async () => {
      const workers = (await (await fetch(`${monitorUrl}/api/workers`)).json()) as Record<
        string,
        { hostname: string; online: boolean }
      >;
      return Object.values(workers).find((w) => w.hostname.startsWith('feedback@') && w.online);
    }, 15_000);
    expect(worker.online).toBe(true);
  });

  it('runs a periodic task created on the monitor page from PostgreSQL, and lists the code one there', async () => {
    const list = await (await fetch(`${monitorUrl}/periodic`)).text();
    expect(list).toContain('data-periodic="scheduled_task"');
    // The monitor runs without log-in on loopback here; its forms still need its CSRF token and our Origin.
    const { token } = (await (await fetch(`${monitorUrl}/api/csrf`)).json()) as { token: string };
    const created = await fetch(`${monitorUrl}/periodic`, {
      method: 'POST',
      redirect: 'manual',
      headers: { origin: monitorUrl },
      body: new URLSearchParams({
        _csrf: token,
        name: 'dist-add-7-8',
        task: 'tasks.add',
        schedule_type: 'interval',
        every: '1',
        period: 'seconds',
        args: '[7, 8]',
        kwargs: '{}',
        enabled: 'on',
      }),
    });
    expect(created.status).toBe(303);
    const row = await eventually(async () => {
      const html = await (await fetch(`${url}/tasks?fragment=rows`)).text();
      return html.split('<tr').find((r) => r.includes('[7,8]') && /data-result>\s*15\s*</.test(r));
    }, 20_000);
    expect(row).toContain('tasks.add');
  });
});
