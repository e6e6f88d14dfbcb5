import { MessageChannel, type MessagePort } from 'node:worker_threads';
import { Piscina } from 'piscina';
import { PoolError } from './pool.ts';
import { deserializeError, serializeError, type ThreadCall, type ThreadOutcome } from './thread-protocol.ts';

export interface ThreadSlotOptions {
  appModule: string;
  /** V8 heap cap of the thread (MiB): past it V8 ends the thread. A backstop for runaway leaks. */
  heapLimitMb?: number;
}

/**
 * One thread of the threads pool: a one-thread piscina, so a thread can be recycled
 * (maxTasksPerChild, maxMemoryPerChild), added or removed (pool_grow, autoscale) on its own.
 * The task module loads once per thread, as it starts; the task's signal reaches it through a
 * port kept for the thread's life, not a channel per call.
 */
export class ThreadSlot {
  /** Tasks finished in this thread. */
  tasks = 0;
  /** Running a call now. */
  busy = false;
  /** Being replaced or removed: takes no new call. */
  retiring = false;
  private seq = 0;
  /** Our end of the thread's control port; undefined after the thread died, until the next call. */
  private control: MessagePort | undefined;
  private readonly piscina: Piscina;

  private constructor(options: ThreadSlotOptions) {
    const mb = options.heapLimitMb;
    this.piscina = new Piscina({
      filename: new URL('./thread-entry.mjs', import.meta.url).href,
      minThreads: 1,
      maxThreads: 1,
      idleTimeout: 2 ** 31 - 1,
      // Only a pool with maxMemoryPerChild pays for measuring memory after each task.
      workerData: { appModule: options.appModule, measureMemory: mb !== undefined },
      ...(mb
        ? { resourceLimits: { maxOldGenerationSizeMb: mb, maxYoungGenerationSizeMb: Math.min(16, mb) } }
        : {}),
    });
  }

  /** Starts the thread and loads the task module in it; throws PoolError when the module fails. */
  static async start(options: ThreadSlotOptions): Promise<ThreadSlot> {
    const slot = new ThreadSlot(options);
    let outcome: ThreadOutcome;
    try {
      outcome = await slot.run({ kind: 'load' }, undefined);
    } catch (error) {
      await slot.close();
      throw new PoolError(`a worker thread could not start: ${(error as Error).message}`, { cause: error });
    }
    if (outcome.kind === 'error') {
      await slot.close();
      throw new PoolError(outcome.error.message, { cause: deserializeError(outcome.error) });
    }
    return slot;
  }

  /** The id of the thread now (piscina replaces a thread that died or was ended). */
  get threadId(): number {
    return this.piscina.threads[0]?.threadId ?? 0;
  }

  /**
   * Runs a call; `signal` ends the thread (hard limit, terminate) and the promise rejects, as it
   * does when the thread dies. piscina then starts a new thread in this slot; the first call to
   * reach it hands it a new control port.
   */
  run(call: ThreadCall, signal: AbortSignal | undefined): Promise<ThreadOutcome> {
    const seq = ++this.seq;
    let transferList: MessagePort[] | undefined;
    if (!this.control) {
      const { port1, port2 } = new MessageChannel();
      this.control = port1;
      call = { ...call, control: port2 };
      transferList = [port2];
    }
    const running = this.piscina.run({ ...call, seq }, { signal, transferList }) as Promise<ThreadOutcome>;
    return running.catch((error: unknown) => {
      this.control?.close();
      this.control = undefined;
      throw error;
    });
  }

  /** Fires the running call's AbortSignal inside the thread (soft time limit, shutdown). */
  abortRunning(reason: unknown): void {
    this.control?.postMessage({ abort: serializeError(reason), seq: this.seq });
  }

  async close(): Promise<void> {
    this.retiring = true;
    this.control?.close();
    await this.piscina.destroy();
  }
}
