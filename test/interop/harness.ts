/**
 * Harness for the interop tests: real Python Celery 5.2 (Debian's /usr/bin/python3) on one side,
 * Celeriac on the other, sharing the local RabbitMQ and Redis.
 *
 * - `describeInterop` is `describeWith(['rabbitmq', 'redis'])` that also requires Python Celery:
 *   in CI a missing peer fails the suite loudly, on a laptop it skips with the reason.
 * - `PythonWorker` runs `celery -A interop_app worker` (test/interop/py) in its own process group,
 *   waits for its "ready" line and ends the whole group (prefork children included) on `stop()`.
 * - `PythonClient` is one long-lived Python process running client snippets and answering JSON,
 *   so an rpc:// client keeps its reply queue and each call costs no interpreter start.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { describe } from 'vitest';
import { describeWith, uniqueName } from '../../packages/celeriac/test/helpers/services.ts';

export { uniqueName };

export const PYTHON = process.env.INTEROP_PYTHON ?? '/usr/bin/python3';
export const PY_DIR = fileURLToPath(new URL('./py/', import.meta.url));
export const AMQP_URL = process.env.TEST_AMQP_URL ?? 'amqp://guest:guest@127.0.0.1:5672//';
export const REDIS_URL = process.env.TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';

let celeryVersion: string | null | undefined;

/** The version of Celery importable by PYTHON, or null when it is missing. */
export function pythonCeleryVersion(): string | null {
  if (celeryVersion === undefined) {
    const probe = spawnSync(PYTHON, ['-c', 'import celery, kombu, redis; print(celery.__version__)'], {
      encoding: 'utf8',
      timeout: 15_000,
    });
    celeryVersion = probe.status === 0 ? probe.stdout.trim() : null;
  }
  return celeryVersion;
}

/** `describe` for interop suites: needs RabbitMQ, Redis and Python Celery; fails loudly in CI. */
export async function describeInterop(title: string, body: () => void): Promise<void> {
  if (!pythonCeleryVersion()) {
    const why = `${PYTHON} cannot import celery, kombu and redis (install python3-celery python3-redis)`;
    if (process.env.CI === 'true') {
      describe(title, () => {
        throw new Error(`interop peer missing: ${why}`);
      });
    } else {
      console.warn(`skipping "${title}": ${why}`);
      describe.skip(title, body);
    }
    return;
  }
  await describeWith(['rabbitmq', 'redis'], title, body);
}

/** What the Python app reads from its environment (see py/interop_app.py). */
export interface PythonAppEnv {
  queue: string;
  backend: string;
  retryQueue?: string;
  broker?: string;
}

function pythonEnv(app: PythonAppEnv): NodeJS.ProcessEnv {
  return {
    ...process.env,
    PYTHONPATH: PY_DIR,
    PYTHONUNBUFFERED: '1',
    PYTHONDONTWRITEBYTECODE: '1',
    INTEROP_BROKER: app.broker ?? AMQP_URL,
    INTEROP_BACKEND: app.backend,
    INTEROP_QUEUE: app.queue,
    INTEROP_RETRY_QUEUE: app.retryQueue ?? '',
  };
}

// Whatever happens to the test process, leave no Python process behind.
const liveGroups = new Set<number>();
process.once('exit', () => {
  for (const pid of liveGroups) killGroup(pid, 'SIGKILL');
});

function killGroup(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-pid, signal);
  } catch {
    // already gone
  }
}

function exited(child: ChildProcess, timeoutMs: number): Promise<boolean> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve(true);
  return new Promise((resolve) => {
    const timer = setTimeout(() => resolve(false), timeoutMs);
    child.once('exit', () => {
      clearTimeout(timer);
      resolve(true);
    });
  });
}

async function stopGroup(child: ChildProcess, signal: NodeJS.Signals = 'SIGTERM'): Promise<void> {
  const pid = child.pid;
  if (pid === undefined) return;
  killGroup(pid, signal);
  if (!(await exited(child, 8_000))) {
    killGroup(pid, 'SIGKILL');
    await exited(child, 3_000);
  }
  // Prefork children may outlive the parent by a moment; the group is ended either way.
  killGroup(pid, 'SIGKILL');
  liveGroups.delete(pid);
}

export interface PythonWorkerOptions extends PythonAppEnv {
  /** Node name; `@%h` is added when it has no `@`. */
  name: string;
  concurrency?: number;
  /** How long to wait for "ready". (Default: 30 s) */
  readyTimeoutMs?: number;
}

/** A real Celery 5.2 worker consuming one queue of the test's own. */
export class PythonWorker {
  private output = '';
  private readonly waiters = new Set<() => void>();

  private constructor(
    private readonly child: ChildProcess,
    readonly nodeName: string,
  ) {
    const collect = (chunk: Buffer) => {
      this.output += chunk.toString('utf8');
      for (const wake of this.waiters) wake();
    };
    child.stdout?.on('data', collect);
    child.stderr?.on('data', collect);
    child.once('exit', () => {
      for (const wake of this.waiters) wake();
    });
  }

  static async start(options: PythonWorkerOptions): Promise<PythonWorker> {
    const nodeName = options.name.includes('@') ? options.name : `${options.name}@%h`;
    const args = [
      '-m',
      'celery',
      '-A',
      'interop_app',
      'worker',
      '-P',
      'prefork',
      '-c',
      String(options.concurrency ?? 2),
      '-Q',
      options.queue,
      '-n',
      nodeName,
      '-l',
      'info',
      // No cluster chatter: each test file's worker stands alone and starts faster.
      '--without-gossip',
      '--without-mingle',
      '--without-heartbeat',
    ];
    const child = spawn(PYTHON, args, {
      cwd: PY_DIR,
      env: pythonEnv(options),
      detached: true,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    if (child.pid !== undefined) liveGroups.add(child.pid);
    const worker = new PythonWorker(child, nodeName);
    try {
      await worker.waitForLog(/ ready\.\s*$/m, options.readyTimeoutMs ?? 30_000);
    } catch (error) {
      await worker.stop();
      throw error;
    }
    return worker;
  }

  /** Everything the worker printed so far (stdout and stderr). */
  log(): string {
    return this.output;
  }

  /** Resolves with the log once `pattern` appears; rejects with the log when the worker exits or time runs out. */
  waitForLog(pattern: RegExp | string, timeoutMs = 15_000): Promise<string> {
    const matches = () =>
      typeof pattern === 'string' ? this.output.includes(pattern) : pattern.test(this.output);
    return new Promise((resolve, reject) => {
      const check = () => {
        if (matches()) {
          done();
          resolve(this.output);
        } else if (this.child.exitCode !== null || this.child.signalCode !== null) {
          done();
          reject(
            new Error(
              `python worker exited (${this.child.exitCode ?? this.child.signalCode}) before ${pattern}:\n${this.output}`,
            ),
          );
        }
      };
      const timer = setTimeout(() => {
        done();
        reject(new Error(`python worker: no ${pattern} within ${timeoutMs} ms:\n${this.output}`));
      }, timeoutMs);
      const done = () => {
        clearTimeout(timer);
        this.waiters.delete(check);
      };
      this.waiters.add(check);
      check();
    });
  }

  /**
   * Cold shutdown (SIGQUIT to the process group: the tests are done with it, and a warm one
   * costs 2 s), then SIGKILL if it lingers.
   */
  stop(): Promise<void> {
    return stopGroup(this.child, 'SIGQUIT');
  }
}

/** A Python exception raised by a client snippet, as the session reported it. */
export class PythonError extends Error {
  readonly code = 'PYTHON_ERROR';
  constructor(
    readonly excType: string,
    readonly excModule: string,
    readonly excMessage: string,
    readonly excArgs: unknown[],
    readonly pythonTraceback: string,
  ) {
    super(`${excType}: ${excMessage}`);
    this.name = 'PythonError';
  }
}

type Answer =
  | { id: number; ok: true; value: unknown }
  | {
      id: number;
      ok: false;
      exc_type: string;
      exc_module: string;
      message: string;
      args: unknown[];
      traceback: string;
    };

/** A Python Celery client (py/client_session.py) answering one snippet at a time. */
export class PythonClient {
  private nextId = 1;
  private readonly pending = new Map<number, (answer: Answer) => void>();
  private stderr = '';

  private constructor(private readonly child: ChildProcess) {
    child.stderr?.on('data', (chunk: Buffer) => (this.stderr += chunk.toString('utf8')));
    createInterface({ input: child.stdout! }).on('line', (line) => {
      let answer: Answer;
      try {
        answer = JSON.parse(line) as Answer;
      } catch {
        this.stderr += `(unparsable answer) ${line}\n`;
        return;
      }
      this.pending.get(answer.id)?.(answer);
      this.pending.delete(answer.id);
    });
    child.once('exit', (code, signal) => {
      const failure: Answer = {
        id: -1,
        ok: false,
        exc_type: 'SessionExited',
        exc_module: 'harness',
        message: `python client exited (${code ?? signal}):\n${this.stderr}`,
        args: [],
        traceback: '',
      };
      for (const settle of this.pending.values()) settle(failure);
      this.pending.clear();
    });
  }

  static async start(app: PythonAppEnv): Promise<PythonClient> {
    const child = spawn(PYTHON, ['client_session.py'], {
      cwd: PY_DIR,
      env: pythonEnv(app),
      detached: true,
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    if (child.pid !== undefined) liveGroups.add(child.pid);
    const client = new PythonClient(child);
    // The session announces itself with answer id 0 once celery is imported.
    const ready = await client.await(0, 30_000);
    if (!ready.ok) throw new Error(ready.message);
    return client;
  }

  private await(id: number, timeoutMs: number): Promise<Answer> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending.delete(id);
        reject(
          new Error(
            `python client: no answer to request ${id} within ${timeoutMs} ms; stderr:\n${this.stderr}`,
          ),
        );
      }, timeoutMs);
      this.pending.set(id, (answer) => {
        clearTimeout(timer);
        resolve(answer);
      });
    });
  }

  /**
   * Runs a snippet: an expression's value is returned, statements return `result`.
   * A Python exception rejects with a PythonError carrying its type and message.
   */
  async run<T = unknown>(code: string, timeoutMs = 20_000): Promise<T> {
    const id = this.nextId++;
    const answered = this.await(id, timeoutMs);
    this.child.stdin!.write(`${JSON.stringify({ id, code })}\n`);
    const answer = await answered;
    if (answer.ok) return answer.value as T;
    throw new PythonError(answer.exc_type, answer.exc_module, answer.message, answer.args, answer.traceback);
  }

  /** Calls a Python function by dotted name with JSON-able arguments (passed through json.loads, not pasted as code). */
  call<T = unknown>(fn: string, ...args: unknown[]): Promise<T> {
    return this.run<T>(`${fn}(*json.loads(${JSON.stringify(JSON.stringify(args))}))`);
  }

  /** What the session wrote to stderr (prints, warnings). */
  log(): string {
    return this.stderr;
  }

  async close(): Promise<void> {
    this.child.stdin?.end();
    if (this.child.pid === undefined) return;
    if (!(await exited(this.child, 3_000))) await stopGroup(this.child);
    liveGroups.delete(this.child.pid);
  }
}

/** Runs `fn` and swallows its error: cleanup must go on when one step fails. */
export async function quietly(fn: () => Promise<unknown> | unknown): Promise<void> {
  try {
    await fn();
  } catch {
    // best effort
  }
}
