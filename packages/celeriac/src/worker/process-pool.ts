import { fork, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { WorkerLostError } from '../task/errors.ts';
import type { Logger } from '../util/logger.ts';
import type { Pool } from './pool.ts';
import type { Request, RequestContext } from './request.ts';
import { PoolError } from './pool.ts';
import { taskCall, settleOutcome } from './pool-call.ts';
import { serializeError, type ThreadCall, type ThreadOutcome } from './thread-protocol.ts';

export interface ProcessPoolOptions {
  /** The module that registers the tasks (the CLI's `-A`), loaded once in each child. */
  appModule: string;
  /** Replace a child after this many tasks (Celery's `--max-tasks-per-child`). */
  maxTasksPerChild?: number;
  /** Replace a child whose resident memory passed this many KiB after a task (`--max-memory-per-child`). */
  maxMemoryPerChildKb?: number;
  logger: Logger;
}

interface Child {
  process: ChildProcess;
  tasks: number;
  job: Job | undefined;
  /** Being replaced: takes no new task. */
  retiring: boolean;
}

interface Job {
  seq: number;
  resolve: (outcome: ThreadOutcome) => void;
  reject: (error: Error) => void;
  killed: boolean;
  /** A task call (counts for maxTasksPerChild), not the start-up module load. */
  isTask: boolean;
}

/**
 * Runs each task in a child process (child_process.fork + IPC), one at a time per child: full
 * isolation, for CPU-bound or untrusted work. A hard time limit or `terminate` kills the child
 * (SIGKILL) and forks a new one; a child that dies under a task fails it with WorkerLostError.
 * maxTasksPerChild and maxMemoryPerChild replace a child after the task that crossed the line,
 * as Celery's prefork pool does.
 */
export class ProcessPool implements Pool {
  readonly name = 'processes';
  private readonly children = new Set<Child>();
  private readonly byRequest = new Map<Request, Child>();
  private seq = 0;
  private closing = false;

  constructor(
    public concurrency: number,
    private readonly options: ProcessPoolOptions,
  ) {
    if (!options.appModule)
      throw new PoolError(
        'the processes pool needs the task module (-A / appModule) to load it in each child',
      );
  }

  async start(): Promise<void> {
    for (let i = 0; i < this.concurrency; i++) this.spawn();
    // Load the module in every child now, so a module that throws on import stops the start.
    const outcomes = await Promise.all(
      [...this.children].map((child) => this.send(child, { kind: 'load' }).catch((e: Error) => e)),
    );
    for (const outcome of outcomes) {
      const message =
        outcome instanceof Error
          ? outcome.message
          : outcome.kind === 'error'
            ? outcome.error.message
            : undefined;
      if (message !== undefined) {
        await this.close();
        throw new PoolError(message);
      }
    }
  }

  call(request: Request, ctx: RequestContext | undefined, args: unknown[]): Promise<unknown> {
    const child = [...this.children].find((c) => !c.job && !c.retiring) ?? this.spawn();
    this.byRequest.set(request, child);
    const onAbort = (): void => {
      child.process.send({
        type: 'abort',
        seq: child.job?.seq,
        reason: serializeError(request.signal.reason),
      });
    };
    request.signal.addEventListener('abort', onAbort, { once: true });
    const call = taskCall(request, ctx, args);
    return this.send(child, call)
      .then((outcome) => settleOutcome(request, ctx, outcome, 'a pool process'))
      .finally(() => {
        this.byRequest.delete(request);
        request.signal.removeEventListener('abort', onAbort);
      });
  }

  /** Forks children up to `concurrency`, or retires idle ones above it (busy ones after their task). */
  resize(concurrency: number): boolean {
    this.concurrency = concurrency;
    while (this.children.size < concurrency) this.spawn();
    let extra = [...this.children].filter((c) => !c.retiring).length - concurrency;
    for (const child of this.children) {
      if (extra <= 0) break;
      if (child.job || child.retiring) continue;
      this.retire(child);
      extra--;
    }
    return true;
  }

  terminate(request: Request): boolean {
    const child = this.byRequest.get(request);
    if (!child?.job) return false;
    child.job.killed = true;
    child.process.kill('SIGKILL');
    return true;
  }

  async close(): Promise<void> {
    this.closing = true;
    const exits = [...this.children].map(
      (child) =>
        new Promise<void>((resolve) => {
          if (child.process.exitCode !== null || child.process.signalCode !== null) return resolve();
          child.process.once('exit', () => resolve());
          child.process.kill('SIGKILL');
        }),
    );
    await Promise.all(exits);
    this.children.clear();
  }

  /** Child pids, for `inspect stats` (`pool.processes`). */
  workerIds(): number[] {
    return [...this.children].filter((c) => !c.retiring).map((c) => c.process.pid ?? 0);
  }

  private spawn(): Child {
    const entry = fileURLToPath(new URL('./process-entry.mjs', import.meta.url));
    const proc = fork(entry, [], {
      env: { ...process.env, CELERIAC_APP_MODULE: this.options.appModule },
      execArgv: [],
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
      serialization: 'advanced', // structured clone, as the threads pool
    });
    const child: Child = { process: proc, tasks: 0, job: undefined, retiring: false };
    this.children.add(child);
    proc.on('message', (message: { type: string; seq: number; outcome: ThreadOutcome; rssBytes: number }) => {
      const job = child.job;
      if (message.type !== 'done' || !job || job.seq !== message.seq) return;
      child.job = undefined;
      job.resolve(message.outcome);
      if (job.isTask) this.afterTask(child, message.rssBytes);
    });
    proc.on('exit', (code, signal) => {
      this.children.delete(child);
      const job = child.job;
      child.job = undefined;
      if (job) {
        if (!job.killed)
          this.options.logger.error(
            { pid: proc.pid, code, signal },
            `pool process ${proc.pid} died running a task`,
          );
        job.reject(
          new WorkerLostError(
            `Worker exited prematurely: ${signal ? `signal ${signal}` : `exitcode ${code}`}.`,
          ),
        );
      }
      if (!this.closing && this.children.size < this.concurrency) this.spawn();
    });
    proc.on('error', (error) =>
      this.options.logger.error({ err: error, pid: proc.pid }, 'pool process error'),
    );
    return child;
  }

  private send(child: Child, call: ThreadCall): Promise<ThreadOutcome> {
    return new Promise((resolve, reject) => {
      const seq = ++this.seq;
      child.job = { seq, resolve, reject, killed: false, isTask: call.kind === 'call' };
      child.process.send({ type: 'call', seq, call });
    });
  }

  /** Celery's `maxtasksperchild` and `max_memory_per_child`: replace the child after this task. */
  private afterTask(child: Child, rssBytes: number): void {
    child.tasks++;
    const { maxTasksPerChild, maxMemoryPerChildKb } = this.options;
    const tooMany = maxTasksPerChild !== undefined && child.tasks >= maxTasksPerChild;
    const tooBig = maxMemoryPerChildKb !== undefined && rssBytes / 1024 > maxMemoryPerChildKb;
    const surplus = [...this.children].filter((c) => !c.retiring).length > this.concurrency;
    if (surplus) return this.retire(child);
    if (!tooMany && !tooBig) return;
    this.options.logger.info(
      { pid: child.process.pid, tasks: child.tasks, rssKb: Math.round(rssBytes / 1024) },
      tooMany
        ? `pool process ${child.process.pid} ran ${child.tasks} tasks (maxTasksPerChild): replacing it`
        : `pool process ${child.process.pid} uses ${Math.round(rssBytes / 1024)} KiB > maxMemoryPerChild ${maxMemoryPerChildKb} KiB: replacing it`,
    );
    this.retire(child);
  }

  private retire(child: Child): void {
    child.retiring = true;
    child.job = { seq: -1, resolve: () => undefined, reject: () => undefined, killed: true, isTask: false };
    child.process.disconnect(); // its 'disconnect' handler exits; 'exit' spawns the replacement
  }
}
