import type { Celeriac } from '../app/celeriac.ts';
import { TaskError } from './exceptions.ts';
import { isExceptionInfo, type ResultMeta } from './meta.ts';
import { isReady, PROPAGATE_STATES, type TaskState } from './states.ts';

export interface GetOptions {
  /** Milliseconds to wait; rejects with a TimeoutError after. (Default: forever) */
  timeout?: number;
  /** Throw a TaskError for FAILURE and REVOKED. (Default: true) */
  propagate?: boolean;
  signal?: AbortSignal;
}

/** A handle on a task's outcome, read from the app's result backend. */
export class AsyncResult<R = unknown> {
  constructor(
    readonly id: string,
    private readonly app: Celeriac,
  ) {}

  /** The current state: `PENDING` until the backend has something. */
  get state(): Promise<TaskState> {
    return this.meta().then((m) => m.status);
  }

  /** The stored metadata (status, result, traceback, children, date_done). */
  async meta(): Promise<ResultMeta> {
    const backend = await this.app.requireBackend();
    return backend.get(this.id);
  }

  async ready(): Promise<boolean> {
    return isReady(await this.state);
  }

  async successful(): Promise<boolean> {
    return (await this.state) === 'SUCCESS';
  }

  async failed(): Promise<boolean> {
    return (await this.state) === 'FAILURE';
  }

  /** Waits for the result; woken by the backend's notification, not by polling. */
  async get(options: GetOptions = {}): Promise<R> {
    const backend = await this.app.requireBackend();
    const meta = await backend.waitReady(this.id, { timeoutMs: options.timeout, signal: options.signal });
    if (PROPAGATE_STATES.has(meta.status) && options.propagate !== false) throw toTaskError(meta);
    return meta.result as R;
  }

  /** Removes the stored result. */
  async forget(): Promise<void> {
    const backend = await this.app.requireBackend();
    await backend.forget(this.id);
  }

  /** Asks every worker not to run this task (and to stop it when `terminate` is set). */
  revoke(options: { terminate?: boolean; signal?: string } = {}): Promise<void> {
    return this.app.control.revoke(this.id, options);
  }

  toString(): string {
    return this.id;
  }
}

function toTaskError(meta: ResultMeta): TaskError {
  const info = isExceptionInfo(meta.result)
    ? meta.result
    : {
        exc_type: meta.status === 'REVOKED' ? 'TaskRevokedError' : 'Exception',
        exc_message: [String(meta.result)],
        exc_module: 'celery.exceptions',
      };
  const message = Array.isArray(info.exc_message) ? info.exc_message : [info.exc_message];
  return new TaskError(meta.task_id, info.exc_type, info.exc_module, message, meta.traceback);
}
