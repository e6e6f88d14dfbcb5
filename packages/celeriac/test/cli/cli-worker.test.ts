import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { once } from 'node:events';
import type { ChildProcessWithoutNullStreams } from 'node:child_process';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { Celeriac } from '../../src/app/celeriac.ts';
import { describeWith, SERVICES, uniqueName } from '../helpers/services.ts';
import { runMain } from './main-in-process.ts';
import { INDEX, runCli, spawnCli, waitForOutput } from './run-cli.ts';

await describeWith(['rabbitmq', 'redis'], 'celeriac worker, call and result through the CLI', () => {
  const queue = uniqueName('h4-cli');
  const node = `${queue}@test`;
  const broker = SERVICES.rabbitmq.url;
  const backend = `${SERVICES.redis.url}/5`;
  const dir = mkdtempSync(join(tmpdir(), 'celeriac-cli-worker-'));
  const tasks = join(dir, 'tasks.ts');
  const globals = ['-A', tasks, '-b', broker, '--result-backend', backend];
  let worker: ChildProcessWithoutNullStreams;
  let stderr = '';
  let banner = '';

  beforeAll(async () => {
    writeFileSync(
      tasks,
      `import { Celeriac } from ${JSON.stringify(INDEX)};
export const app = new Celeriac({ defaultQueue: ${JSON.stringify(queue)} });
app.task('tasks.add', (x: number, y: number) => x + y);
app.task('tasks.sleep', async (ms: number) => { await new Promise((r) => setTimeout(r, ms)); return 'slept'; });
app.task('tasks.fail', () => { throw new TypeError('bad input'); });
`,
    );
    // No package.json here: the task module is CommonJS to Node, the harder case for the loader.
    worker = spawnCli([...globals, 'worker', '-Q', queue, '-n', node, '-c', '2', '-l', 'info'], { cwd: dir });
    worker.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    banner = await waitForOutput(worker.stdout, /\[tasks\][\s\S]*tasks\.sleep/, 25_000);
  });

  afterAll(async () => {
    if (worker.exitCode === null) {
      worker.kill('SIGKILL');
      await once(worker, 'close');
    }
    const app = new Celeriac({ broker });
    await (await app.connection()).deleteQueue(queue).catch(() => undefined);
    await app.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('prints a banner with the node, the broker without its password, queues and tasks', () => {
    expect(banner).toContain(node);
    expect(banner).toContain('amqp://guest:**@127.0.0.1:5672');
    expect(banner).not.toContain('guest:guest@');
    expect(banner).toContain(`.> ${queue}`);
    expect(banner).toMatch(/\[tasks\]\n {2}\. tasks\.add\n {2}\. tasks\.fail\n {2}\. tasks\.sleep/);
  });

  it('call --wait prints the task id and the result', async () => {
    const r = await runCli(
      [...globals, 'call', 'tasks.add', '--args', '[2,2]', '--wait', '--timeout', '20'],
      { cwd: dir },
    );
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const [id, result] = r.stdout.trim().split('\n');
    expect(id).toMatch(/^[0-9a-f-]{36}$/);
    expect(result).toBe('4');
  });

  it('call --wait reports a failure as "ExcType: message" with exit 1; result shows it too', async () => {
    const r = await runMain([...globals, 'call', 'tasks.fail', '--wait', '--timeout', '20']);
    expect(r.code).toBe(1);
    expect(r.stderr.trim()).toBe('TypeError: bad input');
    const id = r.stdout.trim();
    const shown = await runMain([...globals, 'result', id, '--traceback']);
    expect(shown.code).toBe(1);
    expect(shown.stderr.trim()).toBe('TypeError: bad input');
    expect(shown.stdout).toContain('bad input');
    const pending = await runMain([...globals, 'result', '00000000-0000-0000-0000-000000000000']);
    expect(pending).toMatchObject({ code: 0, stdout: 'PENDING\n' });
  });

  it('inspect and status see the worker', async () => {
    const ping = await runMain([...globals, 'inspect', 'ping', '-d', node]);
    expect(ping.stdout).toBe(`->  ${node}: OK\n        pong\n\n1 node online.\n`);
    const registered = await runMain([...globals, 'inspect', 'registered', '-d', node, '--json']);
    expect(JSON.parse(registered.stdout)).toEqual({ [node]: ['tasks.add', 'tasks.fail', 'tasks.sleep'] });
    const status = await runMain([...globals, 'status', '-d', node]);
    expect(status).toMatchObject({ code: 0, stdout: `->  ${node}: OK\n\n1 node online.\n` });
  });

  it('SIGTERM gives a warm shutdown that finishes the running task, exit 0', async () => {
    const sent = await runMain([...globals, 'call', 'tasks.sleep', '--args', '[1500]']);
    const id = sent.stdout.trim();
    // Wait until the worker runs it, so the shutdown has something to wait for.
    const deadline = Date.now() + 10_000;
    for (;;) {
      const active = await runMain([...globals, 'inspect', 'active', '-d', node, '--json']);
      if (active.stdout.includes(id)) break;
      if (Date.now() > deadline)
        throw new Error(`task never became active: ${active.stdout}${active.stderr}`);
    }
    worker.kill('SIGTERM');
    const [code] = (await once(worker, 'close')) as [number | null];
    expect(code).toBe(0);
    expect(stderr).toContain('warm shutdown');
    const result = await runMain([...globals, 'result', id, '--wait', '--timeout', '5']);
    expect(result).toMatchObject({ code: 0, stdout: '"slept"\n' });
  });
});
