import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { Channel } from 'amqplib';
import { queueDepth } from './amqp.ts';
import { sleep } from './stats.ts';

export const REPO_ROOT = fileURLToPath(new URL('../..', import.meta.url));
const CELERIAC_WORKER_ENTRY = fileURLToPath(new URL('../workers/celeriac-worker.ts', import.meta.url));
const PY_APP_DIR = fileURLToPath(new URL('../py', import.meta.url));
export const PYTHON = process.env.BENCH_PYTHON ?? '/usr/bin/python3';

/** A worker running in a child process, as a real deployment runs it. */
export interface WorkerProcess {
  readonly label: string;
  readonly pid: number | undefined;
  /** Resolves with the exit code when the child exits (for any reason). */
  readonly exited: Promise<number | null>;
  /** The child's last lines of output, for error messages. */
  output(): string;
  /** Asks for a warm shutdown; kills the child after `graceMs`. */
  stop(graceMs?: number): Promise<void>;
}

/** What the Celeriac worker child reads from BENCH_WORKER (see ../workers/celeriac-worker.ts). */
export interface CeleriacWorkerConfig {
  broker: string;
  backend: string | undefined;
  queue: string;
  concurrency: number;
  prefetchMultiplier: number;
  hostname: string;
}

/** `entry`: another worker script with the same IPC contract (bench/workers/pool-worker.ts). */
export function startCeleriacWorker(
  config: CeleriacWorkerConfig,
  profileDir?: string,
  entry = CELERIAC_WORKER_ENTRY,
): WorkerProcess {
  const nodeArgs = profileDir ? ['--cpu-prof', `--cpu-prof-dir=${profileDir}`] : [];
  const child = spawn(process.execPath, [...nodeArgs, '--import', 'tsx', entry], {
    cwd: REPO_ROOT,
    env: { ...process.env, BENCH_WORKER: JSON.stringify(config) },
    stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
  });
  return wrap(`celeriac worker ${config.hostname}`, child, async () => {
    if (child.connected) child.send({ type: 'stop' });
    else child.kill('SIGTERM');
  });
}

export interface PythonWorkerConfig {
  broker: string;
  backend: string | undefined;
  queue: string;
  concurrency: number;
  hostname: string;
  /** The `-A` module in bench/py. (Default: `bench_app`) */
  app?: string;
}

/** `python3 -m celery -A bench_app worker -P prefork -c N -Q queue`, the stock Celery 5.2 worker. */
export function startPythonWorker(config: PythonWorkerConfig): WorkerProcess {
  const args = [
    ...[
      '-m',
      'celery',
      '-A',
      config.app ?? 'bench_app',
      'worker',
      '-P',
      'prefork',
      '-c',
      String(config.concurrency),
    ],
    ...['-Q', config.queue, '-n', config.hostname, '-l', 'WARNING'],
    // The cluster chatter is off on both sides: it is not what is measured.
    ...['--without-mingle', '--without-gossip', '--without-heartbeat'],
  ];
  const child = spawn(PYTHON, args, {
    cwd: PY_APP_DIR,
    // Its own process group, so the prefork children can be ended with it if a warm shutdown hangs.
    detached: true,
    env: {
      ...process.env,
      PYTHONDONTWRITEBYTECODE: '1',
      BENCH_AMQP_URL: config.broker,
      BENCH_RESULT_BACKEND: config.backend ?? '',
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  return wrap(
    `python worker ${config.hostname}`,
    child,
    async () => {
      child.kill('SIGTERM');
    },
    true,
  );
}

function wrap(
  label: string,
  child: ChildProcess,
  requestStop: () => Promise<void>,
  ownGroup = false,
): WorkerProcess {
  const lines: string[] = [];
  const collect = (chunk: Buffer) => {
    for (const line of chunk.toString('utf8').split('\n')) if (line.trim()) lines.push(line);
    if (lines.length > 60) lines.splice(0, lines.length - 60);
  };
  child.stdout?.on('data', collect);
  child.stderr?.on('data', collect);
  const exited = new Promise<number | null>((resolve) => {
    child.once('exit', (code, signal) => resolve(code ?? (signal ? -1 : null)));
    child.once('error', (error) => {
      lines.push(`spawn failed: ${error.message}`);
      resolve(-1);
    });
  });
  let stopping: Promise<void> | undefined;
  return {
    label,
    pid: child.pid,
    exited,
    output: () => lines.join('\n'),
    stop(graceMs = 15_000) {
      stopping ??= (async () => {
        if (child.exitCode !== null || child.signalCode !== null) return;
        await requestStop();
        const timer = sleep(graceMs).then(() => 'timeout' as const);
        if ((await Promise.race([exited, timer])) === 'timeout') {
          lines.push(`did not stop within ${graceMs} ms: killed`);
          killChild(child, ownGroup);
          await exited;
        }
      })();
      return stopping;
    },
  };
}

function killChild(child: ChildProcess, ownGroup: boolean): void {
  if (child.pid === undefined) return;
  try {
    // A detached child leads its own group: the negative pid reaches its pool processes too.
    if (ownGroup) process.kill(-child.pid, 'SIGKILL');
    else child.kill('SIGKILL');
  } catch {
    child.kill('SIGKILL');
  }
}

/** Waits until the worker consumes from the queue; fails fast (with its output) if it exits first. */
export async function waitForConsumer(ch: Channel, queue: string, worker: WorkerProcess, timeoutMs: number) {
  let exitCode: number | null | undefined;
  void worker.exited.then((code) => (exitCode = code));
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (exitCode !== undefined)
      throw new WorkerFailedError(worker, `exited with code ${exitCode} before consuming`);
    if ((await queueDepth(ch, queue)).consumers > 0) return;
    await sleep(50);
  }
  throw new WorkerFailedError(worker, `did not consume from ${queue} within ${timeoutMs} ms`);
}

export class WorkerFailedError extends Error {
  readonly code = 'BENCH_WORKER_FAILED';
  constructor(worker: WorkerProcess, what: string) {
    super(`${worker.label} ${what}\n--- its last output ---\n${worker.output() || '(none)'}`);
    this.name = 'WorkerFailedError';
  }
}
