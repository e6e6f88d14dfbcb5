import { once } from 'node:events';
import type { ChildProcessWithoutNullStreams } from 'node:child_process';
import { spawnCli } from './run-cli.ts';

export interface Exit {
  code: number | null;
  /** The signal that ended it: SIGKILL means it ignored the stop signal and had to be killed. */
  signal: NodeJS.Signals | null;
  /** From the stop signal to the exit. */
  afterSignalMs: number;
}

/** A long-running CLI command (worker, beat, monitor) a test waits on and stops with a signal. */
export class CliProcess {
  readonly child: ChildProcessWithoutNullStreams;
  stdout = '';
  stderr = '';
  private readonly closed: Promise<void>;
  private readonly waiters = new Set<() => void>();

  constructor(args: string[], env: NodeJS.ProcessEnv = {}) {
    this.child = spawnCli(args, { env });
    this.closed = once(this.child, 'close').then(() => undefined);
    const changed = () => this.waiters.forEach((check) => check());
    this.child.stdout.on('data', (d: Buffer) => {
      this.stdout += d.toString();
      changed();
    });
    this.child.stderr.on('data', (d: Buffer) => {
      this.stderr += d.toString();
      changed();
    });
  }

  get output(): string {
    return `${this.stdout}\n${this.stderr}`;
  }

  /** Resolves once `pattern` shows in stdout or stderr; rejects with all output after `timeoutMs` or on exit. */
  waitFor(pattern: RegExp, timeoutMs = 25_000): Promise<void> {
    return new Promise((resolve, reject) => {
      const done = (error?: Error) => {
        this.waiters.delete(check);
        clearTimeout(timer);
        if (error) reject(error);
        else resolve();
      };
      const check = () => {
        if (pattern.test(this.stdout) || pattern.test(this.stderr)) done();
      };
      const timer = setTimeout(
        () => done(new Error(`timed out waiting for ${pattern}; output:\n${this.output}`)),
        timeoutMs,
      );
      this.closed.then(() => done(new Error(`exited before ${pattern}; output:\n${this.output}`)));
      this.waiters.add(check);
      check();
    });
  }

  /** Sends `signal` and waits for the exit; SIGKILLs it after `killAfterMs` (then `signal` is SIGKILL). */
  async stop(signal: NodeJS.Signals, killAfterMs = 15_000): Promise<Exit> {
    const start = Date.now();
    this.child.kill(signal);
    const timer = setTimeout(() => this.child.kill('SIGKILL'), killAfterMs);
    await this.closed;
    clearTimeout(timer);
    return { code: this.child.exitCode, signal: this.child.signalCode, afterSignalMs: Date.now() - start };
  }

  /** For afterAll: ends it however it can. */
  async kill(): Promise<void> {
    if (this.child.exitCode === null && this.child.signalCode === null) this.child.kill('SIGKILL');
    await this.closed;
  }
}
