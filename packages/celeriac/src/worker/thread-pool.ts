import { MessageChannel } from 'node:worker_threads';
import { Piscina } from 'piscina';
import { WorkerLostError } from '../task/errors.ts';
import type { Logger } from '../util/logger.ts';
import { PoolError, type Pool } from './pool.ts';
import type { Request, RequestContext } from './request.ts';
import {
  deserializeError,
  serializeError,
  type ThreadCall,
  type ThreadContextData,
  type ThreadOutcome,
} from './thread-protocol.ts';

export interface ThreadPoolOptions {
  /** The module that registers the tasks (the CLI's `-A`), loaded once in each thread. */
  appModule: string;
  /** A thread over this heap size (MiB) is ended: its task fails with WorkerLostError. */
  maxMemoryPerChildMb?: number;
  logger: Logger;
}

/**
 * Runs task functions in worker threads (piscina), for CPU-bound work: the event loop keeps
 * consuming, heartbeating and answering control while tasks compute. Arguments and return
 * values cross by structured clone. A hard time limit or `terminate` ends the thread (piscina
 * replaces it); a thread that dies under a task fails the task with WorkerLostError.
 */
export class ThreadPool implements Pool {
  readonly name = 'threads';
  private piscina: Piscina | undefined;
  private readonly aborts = new Map<Request, AbortController>();

  constructor(
    readonly concurrency: number,
    private readonly options: ThreadPoolOptions,
  ) {
    if (!options.appModule)
      throw new PoolError(
        'the threads pool needs the task module (-A / appModule) to load it in each thread',
      );
  }

  async start(): Promise<void> {
    const mb = this.options.maxMemoryPerChildMb;
    this.piscina = new Piscina({
      filename: new URL('./thread-entry.mjs', import.meta.url).href,
      minThreads: this.concurrency,
      maxThreads: this.concurrency,
      idleTimeout: 2 ** 31 - 1,
      workerData: { appModule: this.options.appModule },
      ...(mb
        ? { resourceLimits: { maxOldGenerationSizeMb: mb, maxYoungGenerationSizeMb: Math.min(16, mb) } }
        : {}),
    });
    // Load the module in a thread now, so a module that throws on import stops the start.
    let outcome: ThreadOutcome;
    try {
      outcome = (await this.piscina.run({ kind: 'load' } satisfies ThreadCall)) as ThreadOutcome;
    } catch (error) {
      await this.close();
      throw new PoolError(`a worker thread could not start: ${(error as Error).message}`, {
        cause: error,
      });
    }
    if (outcome.kind === 'error') {
      await this.close();
      throw new PoolError(outcome.error.message, { cause: deserializeError(outcome.error) });
    }
  }

  call(request: Request, ctx: RequestContext | undefined, args: unknown[]): Promise<unknown> {
    const piscina = this.piscina;
    if (!piscina) return Promise.reject(new PoolError('the threads pool is not started'));
    const abort = new AbortController();
    this.aborts.set(request, abort);
    const { port1, port2 } = new MessageChannel();
    const onAbort = (): void => port1.postMessage({ abort: serializeError(request.signal.reason) });
    request.signal.addEventListener('abort', onAbort, { once: true });
    const call: ThreadCall = {
      kind: 'call',
      name: request.headers.task,
      args,
      ctx: ctx ? contextData(ctx) : undefined,
      port: port2,
    };
    return piscina
      .run(call, { transferList: [port2], signal: abort.signal })
      .then(
        (outcome: ThreadOutcome) => {
          switch (outcome.kind) {
            case 'ok':
              return outcome.value;
            case 'error':
              throw deserializeError(outcome.error);
            case 'retry': {
              const { exc, ...rest } = outcome.options;
              return ctx!.retry(exc ? { ...rest, exc: deserializeError(exc) } : rest);
            }
            default:
              throw new Error(`unexpected reply from a worker thread: ${JSON.stringify(outcome)}`);
          }
        },
        (error: unknown) => {
          if (abort.signal.aborted) throw error; // we ended it; the runner has settled the request
          this.options.logger.error(
            { err: error, taskId: request.id },
            `the thread running ${request.name}[${request.id}] died; piscina starts a new one`,
          );
          throw new WorkerLostError(
            `Worker thread exited prematurely running ${request.name}[${request.id}]: ${(error as Error)?.message ?? error}`,
          );
        },
      )
      .finally(() => {
        this.aborts.delete(request);
        request.signal.removeEventListener('abort', onAbort);
        port1.close();
      });
  }

  /** piscina fixes its thread count when it starts. */
  resize(): boolean {
    return false;
  }

  /** Ends the thread running `request`; piscina replaces it. */
  terminate(request: Request): boolean {
    const abort = this.aborts.get(request);
    if (!abort) return false;
    abort.abort();
    return true;
  }

  async close(): Promise<void> {
    const piscina = this.piscina;
    this.piscina = undefined;
    for (const abort of this.aborts.values()) abort.abort();
    await piscina?.destroy();
  }

  /** Thread ids, for `inspect stats` (`pool.processes`). */
  get threadIds(): number[] {
    return this.piscina ? this.piscina.threads.map((t) => t.threadId) : [];
  }
}

export function contextData(ctx: RequestContext): ThreadContextData {
  return {
    id: ctx.id,
    name: ctx.name,
    retries: ctx.retries,
    args: ctx.args,
    kwargs: ctx.kwargs,
    rootId: ctx.rootId,
    parentId: ctx.parentId,
    groupId: ctx.groupId,
    eta: ctx.eta,
    expires: ctx.expires,
    headers: ctx.headers as unknown as Record<string, unknown>,
    hostname: ctx.hostname,
    deliveryInfo: ctx.deliveryInfo,
  };
}
