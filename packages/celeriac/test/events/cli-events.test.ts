import type { ChildProcessWithoutNullStreams } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { Celeriac } from '../../src/app/celeriac.ts';
import { describeWith, SERVICES, uniqueName } from '../helpers/services.ts';
import { INDEX, runCli, spawnCli, waitForOutput } from '../cli/run-cli.ts';

async function until(check: () => boolean, what: string, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

await describeWith(['rabbitmq'], 'celeriac events --dump / --json and worker -E through the CLI', () => {
  const queue = uniqueName('h9-cli');
  const node = `${queue}@test`;
  const broker = SERVICES.rabbitmq.url;
  const dir = mkdtempSync(join(tmpdir(), 'celeriac-cli-events-'));
  const tasks = join(dir, 'tasks.ts');
  const app = new Celeriac({ broker, defaultQueue: queue });
  const children: ChildProcessWithoutNullStreams[] = [];
  let dump: ChildProcessWithoutNullStreams;
  let json: ChildProcessWithoutNullStreams;
  let worker: ChildProcessWithoutNullStreams;
  let dumpOut = '';
  let jsonOut = '';

  beforeAll(async () => {
    writeFileSync(
      tasks,
      `import { Celeriac } from ${JSON.stringify(INDEX)};
export const app = new Celeriac({ defaultQueue: ${JSON.stringify(queue)} });
app.task('tasks.add', (x: number, y: number) => x + y);
`,
    );
    children.push((dump = spawnCli(['-b', broker, 'events', '--dump'], { cwd: dir })));
    children.push((json = spawnCli(['-b', broker, 'events', '--json'], { cwd: dir })));
    dump.stdout.on('data', (d: Buffer) => (dumpOut += d.toString()));
    json.stdout.on('data', (d: Buffer) => (jsonOut += d.toString()));
    await until(() => /starting capture/.test(dumpOut), 'the dump to start');
    // The receivers' queues exist once they have heard anyone's heartbeat; then start the worker.
    children.push(
      (worker = spawnCli(
        ['-A', tasks, '-b', broker, 'worker', '-Q', queue, '-n', node, '-E', '-l', 'warning'],
        {
          cwd: dir,
        },
      )),
    );
    await waitForOutput(worker.stdout, /\[tasks\]/, 25_000);
  }, 60_000);

  afterAll(async () => {
    for (const child of children) {
      if (child.exitCode === null && child.signalCode === null) {
        child.kill('SIGKILL');
        await once(child, 'close');
      }
    }
    await (await app.connection()).deleteQueue(queue).catch(() => undefined);
    await app.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('prints the worker’s task events as lines and as JSON, then its shutdown', async () => {
    const result = await app.sendTask('tasks.add', [2, 3]);
    await until(
      () => dumpOut.includes(`task succeeded: tasks.add(${result.id})`),
      'task succeeded in the dump',
    );
    await until(() => jsonOut.includes(result.id) && jsonOut.includes('"task-succeeded"'), 'the JSON event');
    const lines = dumpOut.split('\n');
    expect(lines).toContainEqual(
      expect.stringMatching(
        new RegExp(`^${node} \\[.+\\] started: active=0, clock=\\d+, freq=2, loadavg=\\[.*sw_ident=celeriac`),
      ),
    );
    expect(lines).toContainEqual(
      expect.stringContaining(`task received: tasks.add(${result.id}) args=(2, 3) kwargs={} `),
    );
    expect(lines).toContainEqual(
      expect.stringMatching(
        new RegExp(
          `task succeeded: tasks\\.add\\(${result.id}\\) args=\\(2, 3\\) kwargs=\\{\\} .*result=5, runtime=`,
        ),
      ),
    );
    const events = jsonOut
      .split('\n')
      .filter(Boolean)
      .map((l) => JSON.parse(l) as Record<string, unknown>)
      .filter((e) => e.hostname === node);
    expect(events.find((e) => e.type === 'task-succeeded')).toMatchObject({ uuid: result.id, result: '5' });

    worker.kill('SIGTERM');
    await until(
      () => new RegExp(`${node} \\[[^\\]]+\\] shutdown: active=\\d+, clock=\\d+, freq=2`).test(dumpOut),
      'the shutdown line',
    );
    dump.kill('SIGINT');
    const [code] = (await once(dump, 'close')) as [number | null];
    expect(code).toBe(0);
  }, 60_000);

  it('events without --dump or --json is a usage error', async () => {
    const r = await runCli(['-b', broker, 'events'], { cwd: dir });
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/--dump/);
  });
});
