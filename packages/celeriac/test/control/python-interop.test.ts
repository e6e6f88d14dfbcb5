import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { Celeriac } from '../../src/app/celeriac.ts';
import { ControlClient } from '../../src/control/control-client.ts';
import { startMailbox, type Mailbox } from '../../src/control/mailbox.ts';
import { silentLogger } from '../../src/util/logger.ts';
import { describeWith, SERVICES, uniqueName } from '../helpers/services.ts';
import { FakeWorker, requestInfo } from './fake-worker.ts';

const PYTHON = '/usr/bin/python3';
const HERE = fileURLToPath(new URL('.', import.meta.url));
const run = promisify(execFile);
const env = { ...process.env, CELERIAC_TEST_BROKER: SERVICES.rabbitmq.url };

/** `celery -A py_pidbox_app inspect <args> --json` → the parsed replies. */
async function celeryInspect(args: string[]): Promise<Record<string, unknown>> {
  const { stdout } = await run(
    PYTHON,
    ['-m', 'celery', '-A', 'py_pidbox_app', 'inspect', ...args, '--json', '-t', '5'],
    {
      cwd: HERE,
      env,
      timeout: 20_000,
    },
  );
  return JSON.parse(stdout.trim().split('\n')[0]!) as Record<string, unknown>;
}

await describeWith(['rabbitmq'], 'remote control interop with Python Celery 5.2 over RabbitMQ', () => {
  if (!existsSync(PYTHON)) throw new Error(`${PYTHON} with celery is required for the interop tests`);
  const app = new Celeriac({ broker: SERVICES.rabbitmq.url });
  app.task('tasks.add', (x: number, y: number) => x + y);
  const node = `${uniqueName('h4-ts')}@test`;
  const worker = new FakeWorker(node, app);
  const pyNode = `${uniqueName('h4-py')}@h`;
  const pyQueue = uniqueName('h4-pyq');
  let mailbox: Mailbox;
  let python: ChildProcess | undefined;
  let client: ControlClient;

  beforeAll(async () => {
    worker.activeTasks = [requestInfo('a1', 'tasks.add', node)];
    mailbox = await startMailbox(worker, await app.connection(), silentLogger);
    client = new ControlClient(app);
    python = spawn(
      PYTHON,
      [
        '-m',
        'celery',
        '-A',
        'py_pidbox_app',
        'worker',
        '-P',
        'solo',
        '-Q',
        pyQueue,
        '-n',
        pyNode,
        '-l',
        'warning',
        '--without-heartbeat',
        '--without-mingle',
        '--without-gossip',
      ],
      { cwd: HERE, env, stdio: 'ignore' },
    );
  });

  afterAll(async () => {
    if (python && python.exitCode === null) {
      python.kill('SIGKILL');
      await once(python, 'close');
    }
    await client.close();
    await mailbox.stop();
    const transport = await app.connection();
    await transport.deleteQueue(pyQueue).catch(() => undefined);
    await app.close();
  });

  it('our client and mailbox talk over RabbitMQ', async () => {
    expect(await client.ping({ destination: [node] })).toEqual({ [node]: { ok: 'pong' } });
    const active = await client.inspect('active', {}, { destination: [node] });
    expect(active[node]).toMatchObject([{ id: 'a1', name: 'tasks.add' }]);
  });

  it('celery inspect ping/stats/registered/active_queues and control revoke get correct replies from our mailbox', async () => {
    const [ping, asked] = await Promise.all([
      celeryInspect(['ping', '-d', node]),
      run(PYTHON, ['-c', `import py_pidbox_app; py_pidbox_app.ask(${JSON.stringify(node)})`], {
        cwd: HERE,
        env,
        timeout: 20_000,
      }),
    ]);
    expect(ping).toEqual({ [node]: { ok: 'pong' } });
    const {
      stats,
      registered,
      active_queues: queues,
      revoke,
    } = JSON.parse(asked.stdout) as Record<string, Record<string, unknown>>;
    const s = stats![node] as Record<string, unknown>;
    expect(s).toMatchObject({ total: { 'tasks.add': 3 }, pid: process.pid, prefetch_count: 16 });
    expect(typeof s.clock).toBe('string');
    expect(s.broker).toMatchObject({
      hostname: '127.0.0.1',
      port: 5672,
      userid: 'guest',
      transport: 'amqp',
      virtual_host: '/',
    });
    expect(registered).toEqual({ [node]: ['tasks.add'] });
    expect(queues![node]).toMatchObject([
      { name: 'celery', exchange: { name: 'celery', type: 'direct' }, routing_key: 'celery' },
    ]);
    expect(revoke).toEqual([{ [node]: { ok: 'tasks py-revoked-1 flagged as revoked' } }]);
    expect(worker.revokedIds.has('py-revoked-1')).toBe(true);
  });

  it('our client pings a real Python worker, reads its stats, and shuts it down', async () => {
    let pong: Record<string, unknown> = {};
    const deadline = Date.now() + 20_000;
    while (!pong[pyNode] && Date.now() < deadline)
      pong = await client.ping({ destination: [pyNode], timeoutMs: 500 });
    expect(pong).toEqual({ [pyNode]: { ok: 'pong' } });
    const registered = await client.inspect('registered', {}, { destination: [pyNode] });
    expect(registered[pyNode]).toEqual(['pytasks.mul']);
    const stats = (await client.inspect('stats', {}, { destination: [pyNode] }))[pyNode] as Record<
      string,
      unknown
    >;
    expect(stats).toMatchObject({ pool: { 'max-concurrency': 1 }, broker: { transport: 'amqp' } });
    const revoke = await client.inspect('revoke', { task_id: 'x-1' }, { destination: [pyNode] });
    expect(revoke).toEqual({ [pyNode]: { ok: 'tasks x-1 flagged as revoked' } });
    await client.cast('shutdown', {}, { destination: [pyNode] });
    const [code] = (await once(python!, 'close')) as [number | null];
    expect(code).toBe(0);
  });
});
