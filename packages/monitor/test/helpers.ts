import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const CLI = fileURLToPath(new URL('../../celeriac/bin/celeriac.js', import.meta.url));
const INDEX = fileURLToPath(new URL('../../celeriac/src/index.ts', import.meta.url));

export interface CliWorker {
  node: string;
  queue: string;
  process: ChildProcessWithoutNullStreams;
  output: () => string;
  /** SIGTERM (warm shutdown: the worker sends worker-offline) and waits for the exit. */
  stop: () => Promise<void>;
}

/**
 * A real Celeriac worker (`celeriac worker -E`) in a child process, with tasks the monitor tests
 * use: `tasks.add`, `tasks.echo` (returns its argument), `tasks.fail` and `tasks.sleep`.
 */
export async function startCliWorker(options: {
  broker: string;
  queue: string;
  node: string;
}): Promise<CliWorker> {
  const dir = mkdtempSync(join(tmpdir(), 'celeriac-monitor-worker-'));
  const tasks = join(dir, 'tasks.ts');
  writeFileSync(
    tasks,
    `import { Celeriac } from ${JSON.stringify(INDEX)};
export const app = new Celeriac({ defaultQueue: ${JSON.stringify(options.queue)} });
app.task('tasks.add', (x: number, y: number) => x + y);
app.task('tasks.echo', (value: unknown) => value);
app.task('tasks.sleep', async (ms: number) => { await new Promise((r) => setTimeout(r, ms)); return 'slept'; });
app.task('tasks.fail', () => { throw new TypeError('bad input'); });
`,
  );
  const child = spawn(
    process.execPath,
    [
      CLI,
      '-A',
      tasks,
      '-b',
      options.broker,
      'worker',
      '-Q',
      options.queue,
      '-n',
      options.node,
      '-c',
      '2',
      '-E',
      '-l',
      'info',
    ],
    {
      cwd: dir,
      env: {
        ...process.env,
        CELERIAC_LOG_FORMAT: 'json',
        CELERIAC_BROKER_URL: '',
        CELERIAC_RESULT_BACKEND: '',
      },
    },
  );
  let seen = '';
  child.stdout.on('data', (d: Buffer) => (seen += d.toString()));
  child.stderr.on('data', (d: Buffer) => (seen += d.toString()));
  const deadline = Date.now() + 25_000;
  while (!/\[tasks\][\s\S]*tasks\.sleep/.test(seen)) {
    if (child.exitCode !== null) throw new Error(`worker exited early:\n${seen}`);
    if (Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new Error(`worker did not start in time:\n${seen}`);
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  return {
    node: options.node,
    queue: options.queue,
    process: child,
    output: () => seen,
    stop: async () => {
      if (child.exitCode === null && child.signalCode === null) {
        const exited = once(child, 'close');
        child.kill('SIGTERM');
        const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
        await exited;
        clearTimeout(timer);
      }
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** Polls until `check` returns something truthy. */
export async function waitFor<T>(
  check: () => T | Promise<T>,
  timeoutMs = 10_000,
  what = 'condition',
): Promise<NonNullable<T>> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value) return value as NonNullable<T>;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}
