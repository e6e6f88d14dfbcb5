import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, expect, it } from 'vitest';
import { Celeriac, Worker } from '../../src/index.ts';
import { describeWith, SERVICES, uniqueName } from '../helpers/services.ts';

const PYTHON = '/usr/bin/python3';
const HERE = fileURLToPath(new URL('.', import.meta.url));
const run = promisify(execFile);

/** Python's `celery inspect <command> -d <node> --json`, against a real Celeriac Worker. */
async function celeryInspect(command: string, node: string): Promise<Record<string, unknown>> {
  const { stdout } = await run(
    PYTHON,
    ['-m', 'celery', '-A', 'py_pidbox_app', 'inspect', command, '-d', node, '--json', '-t', '5'],
    { cwd: HERE, env: { ...process.env, CELERIAC_TEST_BROKER: SERVICES.rabbitmq.url }, timeout: 20_000 },
  );
  return JSON.parse(stdout.trim().split('\n')[0]!) as Record<string, unknown>;
}

await describeWith(['rabbitmq'], "Python's celery inspect against a real Celeriac worker", () => {
  const queue = uniqueName('inspect-q');
  const node = `${uniqueName('inspect')}@test`;
  const app = new Celeriac({ broker: SERVICES.rabbitmq.url });
  let release!: () => void;
  const released = new Promise<void>((resolve) => (release = resolve));
  app.task('tasks.slow', async (label: string) => {
    await released;
    return label;
  });
  const worker = new Worker(app, { queues: [queue], hostname: node, remoteControl: true, concurrency: 2 });

  afterAll(async () => {
    release();
    await worker.stop();
    const client = new Celeriac({ broker: SERVICES.rabbitmq.url });
    const transport = await client.connection();
    await transport.deleteQueue(queue);
    await client.close();
  });

  it('active lists the running task with its name and args; ping and stats answer', async () => {
    await worker.start();
    const sender = new Celeriac({ broker: SERVICES.rabbitmq.url });
    const sent = await sender.sendTask('tasks.slow', ['hello'], {}, { queue });
    await sender.close();
    for (let i = 0; i < 50 && worker.active().length === 0; i++) await new Promise((r) => setTimeout(r, 100));

    const active = (await celeryInspect('active', node))[node] as Array<Record<string, unknown>>;
    expect(active).toHaveLength(1);
    expect(active[0]).toMatchObject({ id: sent.id, name: 'tasks.slow', hostname: node, acknowledged: true });
    expect(JSON.stringify(active[0]!.args)).toContain('hello');

    expect(await celeryInspect('ping', node)).toEqual({ [node]: { ok: 'pong' } });
    const stats = (await celeryInspect('stats', node))[node] as Record<string, unknown>;
    expect(stats).toMatchObject({ pool: { 'max-concurrency': 2 }, broker: { transport: 'amqp' } });
    expect(stats.total).toBeDefined();
  });
});
