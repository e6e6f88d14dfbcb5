import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Celeriac } from '../../src/app/celeriac.ts';
import { attachEvents, type WorkerEventPublisher } from '../../src/events/worker-events.ts';
import { Worker } from '../../src/worker/worker.ts';
import { describeWith, SERVICES, uniqueName } from '../helpers/services.ts';
import { waitFor } from '../worker/helpers.ts';
import { EventLog } from './helpers.ts';

const PYTHON = '/usr/bin/python3';
const HERE = fileURLToPath(new URL('.', import.meta.url));
const env = { ...process.env, CELERIAC_TEST_BROKER: SERVICES.rabbitmq.url, PYTHONUNBUFFERED: '1' };

function python(
  args: string[],
  extraEnv: Record<string, string> = {},
): { child: ChildProcess; output: () => string } {
  const child = spawn(PYTHON, ['-m', 'celery', '-A', 'py_events_app', ...args], {
    cwd: HERE,
    env: { ...env, ...extraEnv },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let text = '';
  child.stdout!.on('data', (chunk: Buffer) => (text += chunk.toString()));
  child.stderr!.on('data', (chunk: Buffer) => (text += chunk.toString()));
  return { child, output: () => text };
}

async function kill(child: ChildProcess | undefined, signal: NodeJS.Signals = 'SIGTERM'): Promise<void> {
  if (!child || child.exitCode !== null || child.signalCode !== null) return;
  const closed = once(child, 'close');
  child.kill(signal);
  const timer = setTimeout(() => child.kill('SIGKILL'), 5_000);
  await closed;
  clearTimeout(timer);
}

await describeWith(['rabbitmq'], 'events interop with Python Celery 5.2 over RabbitMQ', () => {
  if (!existsSync(PYTHON)) throw new Error(`${PYTHON} with celery is required for the interop tests`);
  const children: ChildProcess[] = [];

  afterAll(async () => {
    await Promise.all(children.map((c) => kill(c, 'SIGKILL')));
  });

  it('`celery events --dump` prints a Celeriac worker’s task events and heartbeats', async () => {
    const queue = uniqueName('h9-dumpq');
    const node = `${uniqueName('h9-ts')}@test`;
    const app = new Celeriac({ broker: SERVICES.rabbitmq.url, defaultQueue: queue });
    app.task('h9.add', (x: number, y: number) => x + y);
    const dump = python(['events', '--dump']);
    children.push(dump.child);
    const worker = new Worker(app, { queues: [queue], hostname: node, sendEvents: true });
    let events: WorkerEventPublisher | undefined;
    try {
      await waitFor(() => dump.output().includes('starting capture'), 15_000, 'celery events to start');
      await worker.start();
      events = await attachEvents(worker, { heartbeatIntervalMs: 500 });
      // A heartbeat line proves Python's receiver queue is bound; then the task's events follow.
      await waitFor(
        () =>
          dump
            .output()
            .split('\n')
            .some((l) => l.startsWith(`${node} [`) && l.includes('] heartbeat: ')),
        15_000,
        `a heartbeat of ${node} in: ${dump.output()}`,
      );
      const result = await app.sendTask('h9.add', [20, 22]);
      await waitFor(
        () =>
          new RegExp(`${node} \\[[^\\]]+\\] task succeeded: h9\\.add\\(${result.id}\\)`).test(dump.output()),
        10_000,
        `task succeeded of ${result.id} in: ${dump.output()}`,
      );
      const lines = dump.output().split('\n');
      const received = lines.find((l) =>
        l.includes(`task received: h9.add(${result.id}) args=(20, 22) kwargs={}`),
      );
      expect(received).toBeDefined();
      const succeeded = lines.find((l) => l.includes('task succeeded') && l.includes(result.id))!;
      expect(succeeded).toMatch(/result=42, runtime=/);
      const heartbeat = lines.find((l) => l.startsWith(`${node} [`) && l.includes('] heartbeat: '));
      expect(heartbeat).toMatch(/sw_ident=celeriac/);
      expect(dump.output()).not.toMatch(/Traceback|Error/);
    } finally {
      await worker.stop();
      await events?.stop();
      await kill(dump.child);
      const transport = await app.connection();
      await transport.deleteQueue(queue).catch(() => undefined);
      await app.close();
    }
  }, 40_000);

  it('celery.events.state.State (what Flower builds on) takes our events: worker alive, task SUCCESS', async () => {
    const queue = uniqueName('h9-stateq');
    const node = `${uniqueName('h9-state')}@test`;
    const app = new Celeriac({ broker: SERVICES.rabbitmq.url, defaultQueue: queue });
    app.task('h9.add', (x: number, y: number) => x + y);
    const check = spawn(PYTHON, ['py_state_check.py', node, '4'], {
      cwd: HERE,
      env,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    children.push(check);
    let output = '';
    check.stdout.on('data', (d: Buffer) => (output += d.toString()));
    check.stderr.on('data', (d: Buffer) => (output += d.toString()));
    const closed = once(check, 'close');
    const worker = new Worker(app, { queues: [queue], hostname: node, sendEvents: true });
    let events: WorkerEventPublisher | undefined;
    try {
      await waitFor(() => output.includes('capturing'), 15_000, 'the Python receiver');
      await new Promise((r) => setTimeout(r, 300)); // its queue is bound just after it says so
      events = await attachEvents(worker, { heartbeatIntervalMs: 500 });
      await worker.start();
      const result = await app.sendTask('h9.add', [2, 3]);
      await closed;
      const seen = JSON.parse(output.trim().split('\n').at(-1)!) as {
        worker: Record<string, unknown> | null;
        tasks: Record<string, Record<string, unknown>>;
      };
      expect(seen.worker).toMatchObject({ alive: true, sw_ident: 'celeriac', freq: 0.5, processed: 1 });
      expect(seen.tasks[result.id]).toMatchObject({ state: 'SUCCESS', name: 'h9.add', result: '5' });
    } finally {
      await worker.stop();
      await events?.stop();
      await (await app.connection()).deleteQueue(queue).catch(() => undefined);
      await app.close();
    }
  }, 30_000);

  describe('a Python prefork worker', () => {
    const queue = uniqueName('h9-pyq');
    const pyNode = `${uniqueName('h9-py')}@h`;
    const app = new Celeriac({ broker: SERVICES.rabbitmq.url });
    let log: EventLog;
    let worker: ReturnType<typeof python> | undefined;

    beforeAll(async () => {
      log = new EventLog(app, pyNode);
      await log.receiver.start();
    });

    afterAll(async () => {
      await kill(worker?.child);
      await log?.receiver.stop();
      const transport = await app.connection();
      await transport.deleteQueue(queue).catch(() => undefined);
      await app.close();
    });

    it('EventReceiver reads a Python prefork worker’s events, task.multi batches included', async () => {
      worker = python(
        [
          'worker',
          '-E',
          '-P',
          'prefork',
          '-c',
          '2',
          '-Q',
          queue,
          '-n',
          pyNode,
          '-l',
          'warning',
          '--without-mingle',
          '--without-gossip',
        ],
        { CELERIAC_TEST_CONTROL_EXCHANGE: uniqueName('h9ctl') },
      );
      children.push(worker.child);
      const [online] = await log.wait('worker-online', undefined, 1, 20_000);
      expect(online).toMatchObject({ sw_ident: 'py-celery', freq: 2 });
      const results = await Promise.all(
        Array.from({ length: 40 }, (_, i) => app.sendTask('pyevents.mul', [i, 2], {}, { queue })),
      );
      for (const result of results) await log.wait('task-succeeded', result.id, 1, 15_000);
      const first = results[0]!.id;
      expect(log.of('task-received', first)[0]).toMatchObject({
        name: 'pyevents.mul',
        args: '(0, 2)',
        kwargs: '{}',
      });
      expect(log.of('task-started', first)).toHaveLength(1);
      expect(log.of('task-succeeded', results[3]!.id)[0]).toMatchObject({
        result: '6',
        runtime: expect.any(Number),
      });
      // Python's prefork worker buffers task events: some arrive as task.multi lists.
      expect(log.messages.some((m) => m.routingKey === 'task.multi' && m.events > 1)).toBe(true);
      await kill(worker.child);
      await log.wait('worker-offline', undefined, 1, 10_000);
    }, 60_000);
  });
});
