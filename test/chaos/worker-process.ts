import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const CLI = fileURLToPath(new URL('../../packages/celeriac/bin/celeriac.js', import.meta.url));
const INDEX = fileURLToPath(new URL('../../packages/celeriac/src/index.ts', import.meta.url));
const IOREDIS = import.meta.resolve('ioredis');

export interface TaskModuleOptions {
  queue: string;
  /** Redis hash where each run of `chaos.work` does HINCRBY <n> 1. */
  runsKey: string;
  redisUrl: string;
  /** Transport options (e.g. the Redis visibility timeout). */
  brokerOptions?: Record<string, unknown>;
  /** Bytes `chaos.work` keeps for ever on each run: a deliberate leak, to show the soak catches one. */
  leakBytesPerTask?: number;
}

/**
 * Writes the task module the worker CLI loads (`-A`), in every pool thread or process too:
 * - `chaos.work(n, ms)`: sleeps `ms` (so tasks are in flight when the worker dies), then records the run.
 * - `chaos.die_once(key)`, `chaos.die_once_requeue(key)`: the first run kills its own process (a pool
 *   child dying mid-task); later runs succeed. The second has `rejectOnWorkerLost`.
 */
export function writeTaskModule(dir: string, o: TaskModuleOptions): string {
  const file = join(dir, 'chaos-tasks.ts');
  writeFileSync(join(dir, 'package.json'), '{ "type": "module" }\n');
  writeFileSync(
    file,
    `import { Redis } from ${JSON.stringify(IOREDIS)};
import { Celeriac } from ${JSON.stringify(INDEX)};

export const app = new Celeriac({
  defaultQueue: ${JSON.stringify(o.queue)},
  acksLate: true,
  brokerOptions: ${JSON.stringify(o.brokerOptions ?? {})},
});
let client: Redis | undefined;
const redis = () => (client ??= new Redis(${JSON.stringify(o.redisUrl)}, { maxRetriesPerRequest: 20 }));

const kept: string[] = [];
app.task('chaos.work', async (n: number, ms: number) => {
  await new Promise((resolve) => setTimeout(resolve, ms));
  if (${o.leakBytesPerTask ?? 0} > 0) kept.push(String(n).padEnd(${o.leakBytesPerTask ?? 0}, '.'));
  await redis().hincrby(${JSON.stringify(o.runsKey)}, String(n), 1);
  return n;
});
const dieOnce = async (key: string) => {
  if ((await redis().incr(key)) === 1) process.kill(process.pid, 'SIGKILL');
  return 'survived';
};
app.task('chaos.die_once', dieOnce);
app.task('chaos.die_once_requeue', dieOnce, { rejectOnWorkerLost: true });
`,
  );
  return file;
}

export interface WorkerChild {
  child: ChildProcess;
  /** Resolves once the worker logged "ready." (it is consuming). */
  ready: Promise<void>;
  /** Everything the worker printed so far (for failure messages). */
  output(): string;
  /** Resolves with the exit code or signal once the process is gone. */
  exited: Promise<string>;
}

/** Starts `celeriac -A <module> -b <broker> worker …` as a child process, tagged with `tag` in its environment. */
export function startWorkerCli(o: {
  module: string;
  broker: string;
  backend?: string;
  queue: string;
  pool: 'async' | 'threads' | 'processes';
  concurrency: number;
  tag: string;
  readyTimeoutMs?: number;
  /** Node options before the CLI (e.g. `--import` a sampler). */
  nodeArgs?: string[];
  env?: Record<string, string>;
  /**
   * Log level; default `info`, whose "ready." line tells when the worker consumes. Below that (per-task
   * lines cost the worker at thousands of tasks/s), `readyCheck` tells instead (e.g. the queue has a consumer).
   */
  logLevel?: 'info' | 'warning';
  readyCheck?: () => Promise<boolean>;
}): WorkerChild {
  const args = [...(o.nodeArgs ?? []), CLI, '-A', o.module, '-b', o.broker];
  if (o.backend) args.push('--result-backend', o.backend);
  args.push('worker', '-Q', o.queue, '-P', o.pool, '-c', String(o.concurrency), '-n', `${o.tag}@chaos`);
  args.push('--without-mingle', '--without-heartbeat', '-l', o.logLevel ?? 'info');
  const child = spawn(process.execPath, args, {
    env: {
      ...process.env,
      CELERIAC_LOG_FORMAT: 'json',
      CELERIAC_BROKER_URL: '',
      CELERIAC_RESULT_BACKEND: '',
      CHAOS_TAG: o.tag,
      ...o.env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let seen = '';
  const exited = once(child, 'exit').then(([code, signal]) => String(signal ?? code));
  const ready = new Promise<void>((resolve, reject) => {
    const timer = setTimeout(
      () =>
        reject(new Error(`worker not ready after ${o.readyTimeoutMs ?? 60_000} ms:\n${seen.slice(-3000)}`)),
      o.readyTimeoutMs ?? 60_000,
    );
    const onData = (d: Buffer) => {
      seen += d.toString();
      if (seen.length > 200_000) seen = seen.slice(-100_000);
      if (/ready\./.test(seen)) {
        clearTimeout(timer);
        resolve();
      }
    };
    child.stdout!.on('data', onData);
    child.stderr!.on('data', onData);
    const check = o.readyCheck;
    if (o.logLevel === 'warning' && check) {
      const poll = async (): Promise<void> => {
        if (child.exitCode !== null || child.signalCode !== null) return;
        if (await check().catch(() => false)) {
          clearTimeout(timer);
          resolve();
        } else setTimeout(() => void poll(), 200);
      };
      void poll();
    }
    void exited.then((how) => {
      clearTimeout(timer);
      reject(new Error(`worker exited (${how}) before it was ready:\n${seen.slice(-3000)}`));
    });
  });
  ready.catch(() => undefined);
  return { child, ready, exited, output: () => seen };
}

/** Pids of live processes whose environment carries CHAOS_TAG=`tag` (a worker's pool children included). */
export function processesTagged(tag: string): number[] {
  const needle = `CHAOS_TAG=${tag}\0`;
  const pids: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      if (readFileSync(`/proc/${entry}/environ`, 'latin1').includes(needle)) pids.push(Number(entry));
    } catch {
      // gone, or not ours to read
    }
  }
  return pids;
}
