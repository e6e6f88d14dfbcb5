import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Celeriac } from 'celeriac';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { describeWith, SERVICES, uniqueName } from '../../celeriac/test/helpers/services.ts';
import { Monitor } from '../src/monitor.ts';
import { waitFor } from './helpers.ts';

const PYTHON = '/usr/bin/python3';
const FIXTURES = fileURLToPath(new URL('./fixtures/', import.meta.url));

/** The monitor watching a real Python Celery 5.2 prefork worker: the same state as for ours. */
await describeWith(['rabbitmq'], 'monitor with a Python Celery worker on RabbitMQ', () => {
  if (!existsSync(PYTHON)) throw new Error(`${PYTHON} with celery is required for the interop tests`);
  const queue = uniqueName('h13-py');
  const node = `${queue}@test`;
  let child: ChildProcess;
  let output = '';
  let app: Celeriac;
  let monitor: Monitor;

  beforeAll(async () => {
    app = new Celeriac({ broker: SERVICES.rabbitmq.url, defaultQueue: queue });
    monitor = new Monitor(app, { history: false, inspectTimeoutMs: 1500 });
    await monitor.start();
    child = spawn(
      PYTHON,
      [
        '-m',
        'celery',
        '-A',
        'py_monitor_app',
        'worker',
        '-E',
        '-Q',
        queue,
        '-n',
        node,
        '-c',
        '1',
        '-P',
        'prefork',
        '-l',
        'INFO',
        '--without-mingle',
        '--without-gossip',
      ],
      {
        cwd: FIXTURES,
        env: { ...process.env, CELERIAC_TEST_BROKER: SERVICES.rabbitmq.url, PYTHONUNBUFFERED: '1' },
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    child.stdout!.on('data', (d: Buffer) => (output += d.toString()));
    child.stderr!.on('data', (d: Buffer) => (output += d.toString()));
  });

  afterAll(async () => {
    if (child && child.exitCode === null && child.signalCode === null) {
      const closed = once(child, 'close');
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
      await closed;
      clearTimeout(timer);
    }
    await monitor?.stop();
    await (await app.connection()).deleteQueue(queue).catch(() => undefined);
    await app.close();
  });

  it('sees the Python worker online from its heartbeats', async () => {
    await waitFor(() => monitor.state.isAlive(node), 20_000, `${node} online; worker said:\n${output}`);
    expect(monitor.state.getWorker(node)).toMatchObject({ sw_ident: 'py-celery', freq: 2 });
  });

  it('follows its tasks (sent as task.multi batches) to SUCCESS and FAILURE', async () => {
    const ok = await app.sendTask('pymon.mul', [6, 7]);
    const bad = await app.sendTask('pymon.fail');
    const done = await waitFor(
      () => {
        const t = monitor.state.task(ok.id);
        return t?.state === 'SUCCESS' ? t : undefined;
      },
      15_000,
      'pymon.mul to succeed',
    );
    expect(done).toMatchObject({
      name: 'pymon.mul',
      args: '(6, 7)',
      kwargs: '{}',
      result: '42',
      worker: node,
    });
    expect(done.runtime).toBeGreaterThan(0);
    const failed = await waitFor(
      () => {
        const t = monitor.state.task(bad.id);
        return t?.state === 'FAILURE' ? t : undefined;
      },
      15_000,
      'pymon.fail to fail',
    );
    expect(failed.exception).toBe("ValueError('python says no')");
    expect(failed.traceback).toContain('Traceback');
  });

  it('reads its pool and queues over remote control', async () => {
    const info = (await monitor.inspect(node)).get(node);
    const stats = info?.stats as { pool: Record<string, unknown>; prefetch_count: number };
    expect(stats.pool['max-concurrency']).toBe(1);
    expect((info?.active_queues as Array<{ name: string }>).map((q) => q.name)).toEqual([queue]);
    expect(info?.registered).toEqual(expect.arrayContaining(['pymon.mul', 'pymon.fail']));
  });
});
