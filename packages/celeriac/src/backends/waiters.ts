import type { ResultMeta } from '../result/meta.ts';
import { isReady } from '../result/states.ts';

/** Thrown by `waitReady` / `AsyncResult.get` when the timeout passes first. */
export class ResultTimeoutError extends Error {
  readonly code = 'RESULT_TIMEOUT';
  constructor(
    readonly taskId: string,
    timeoutMs: number,
  ) {
    super(`task ${taskId} was not ready within ${timeoutMs} ms`);
    this.name = 'TimeoutError';
  }
}

/**
 * Callers waiting for results, keyed by task id. Backends call `notify` when a state arrives
 * (from PUBLISH, a reply queue or NOTIFY); the waiter checks the state and settles.
 */
export class ResultWaiters {
  private readonly waiting = new Map<string, Set<(meta: ResultMeta) => void>>();
  private readonly cancels = new Set<(error: Error) => void>();

  get size(): number {
    return this.waiting.size;
  }

  has(taskId: string): boolean {
    return this.waiting.has(taskId);
  }

  notify(meta: ResultMeta): void {
    const listeners = this.waiting.get(meta.task_id);
    if (listeners) for (const listener of [...listeners]) listener(meta);
  }

  /**
   * Waits for a ready state. `check` reads the current state once the listener is in place, so a
   * result stored between subscribe and check is not missed.
   */
  wait(
    taskId: string,
    options: { timeoutMs?: number; signal?: AbortSignal },
    check: () => Promise<ResultMeta | undefined>,
    onIdle?: (taskId: string) => void,
  ): Promise<ResultMeta> {
    return new Promise<ResultMeta>((resolve, reject) => {
      if (options.signal?.aborted) {
        reject(options.signal.reason ?? new Error('aborted'));
        return;
      }
      let timer: NodeJS.Timeout | undefined;
      let settled = false;
      const finish = (fn: () => void) => {
        // A late check() or a notify after a timeout must not settle (or call onIdle) twice.
        if (settled) return;
        settled = true;
        this.cancels.delete(cancel);
        const set = this.waiting.get(taskId);
        set?.delete(listener);
        if (set && set.size === 0) {
          this.waiting.delete(taskId);
          onIdle?.(taskId);
        }
        if (timer) clearTimeout(timer);
        options.signal?.removeEventListener('abort', onAbort);
        fn();
      };
      const listener = (meta: ResultMeta) => {
        if (isReady(meta.status)) finish(() => resolve(meta));
      };
      const onAbort = () => finish(() => reject(options.signal?.reason ?? new Error('aborted')));
      const cancel = (error: Error) => finish(() => reject(error));
      this.cancels.add(cancel);
      let set = this.waiting.get(taskId);
      if (!set) this.waiting.set(taskId, (set = new Set()));
      set.add(listener);
      if (options.timeoutMs !== undefined && Number.isFinite(options.timeoutMs)) {
        timer = setTimeout(
          () => finish(() => reject(new ResultTimeoutError(taskId, options.timeoutMs!))),
          options.timeoutMs,
        );
      }
      options.signal?.addEventListener('abort', onAbort, { once: true });
      check().then(
        (meta) => meta && listener(meta),
        (error: unknown) => finish(() => reject(error)),
      );
    });
  }

  /** Ids with at least one waiter. */
  ids(): IterableIterator<string> {
    return this.waiting.keys();
  }

  /** Rejects every waiter (the backend is closing): nobody is left hanging until a timeout. */
  cancelAll(error: Error): void {
    for (const cancel of [...this.cancels]) cancel(error);
  }
}
