import type { ResultBackend, StoreContext } from '../backends/backend.ts';
import { ResultEncodeError } from '../backends/errors.ts';
import type { ExceptionInfo, ResultMeta } from '../result/meta.ts';
import { utcNowIso } from '../result/meta.ts';
import { isReady, States, type TaskState } from '../result/states.ts';
import type { Logger } from '../util/logger.ts';
import type { Request } from './request.ts';
import { countChordPart } from '../canvas/chord-completion.ts';
import { oversizedResult } from '../protocol/size-limits.ts';

export interface ResultStoreOptions {
  hostname: string;
  /** `resultExtended`: also store name, args, kwargs, worker, retries, queue. */
  extended: boolean;
  expiresSeconds: number | null;
  /** How long to keep retrying while the backend is unreachable. */
  retryForMs: number;
  logger: Logger;
}

/** A state for an id that is not the request's own (the frozen ids of a failed chain's steps). */
export interface OtherTask {
  taskId: string;
  groupId: string | null;
}

/**
 * Writes task states to the result backend the way Celery's worker does (`Backend.store_result`,
 * `_get_result_meta`, §4.1). A value the backend cannot encode becomes a FAILURE that says why
 * (celery/app/trace.py stores `EncodeError` the same way); an unreachable backend is retried
 * with back-off for `retryForMs`, then `store` resolves false so the caller can give the
 * message back instead of losing the outcome.
 */
export class ResultStore {
  constructor(
    private readonly backend: ResultBackend | undefined,
    private readonly options: ResultStoreOptions,
  ) {}

  get enabled(): boolean {
    return this.backend !== undefined;
  }

  /** Resolves true when stored (or there is no backend), false when the backend stayed down. */
  store(
    request: Request,
    status: TaskState,
    result: unknown,
    traceback: string | null,
    other?: OtherTask,
  ): Promise<boolean> {
    const backend = this.backend;
    if (!backend) return STORED;
    // resultMaxBytes: a giant value becomes a FAILURE that says so (the app is the request's own).
    const tooLarge = oversizedResult(request.id, result, request.task.app.conf.resultMaxBytes);
    if (tooLarge) {
      this.options.logger.error({ taskId: request.id, status }, String(tooLarge.exc_message[0]));
      return this.store(request, States.FAILURE, tooLarge, null, other);
    }
    const meta = this.meta(request, status, result, traceback, other);
    const context: StoreContext = {
      replyTo: request.message.replyTo,
      correlationId: other ? other.taskId : request.message.correlationId,
      expiresSeconds: this.options.expiresSeconds,
    };
    // The first attempt without an async frame: it is every task's path, the retry loop is not.
    let first: Promise<void>;
    try {
      first = backend.store(meta, context);
    } catch (error) {
      first = Promise.reject(error);
    }
    const chordPart = !other && Boolean(request.message.embed.chord) && isReady(status);
    const retry = (error: unknown) => this.retryStore(backend, request, meta, context, chordPart, error);
    return first.then(
      chordPart ? () => this.chordPart(request, meta).then(storedTrue, retry) : storedTrue,
      retry,
    );
  }

  /** The first attempt failed: an encode error stores a FAILURE, anything else retries with back-off. */
  private async retryStore(
    backend: ResultBackend,
    request: Request,
    meta: ResultMeta,
    context: StoreContext,
    chordPart: boolean,
    firstError: unknown,
  ): Promise<boolean> {
    const status = meta.status;
    let error = firstError;
    let delayMs = 100;
    const giveUpAt = Date.now() + this.options.retryForMs;
    for (let attempt = 1; ; attempt++) {
      if (isEncodeError(error)) return this.storeEncodeFailure(backend, meta, context, error);
      if (Date.now() + delayMs > giveUpAt) {
        this.options.logger.error(
          { err: error, taskId: meta.task_id, status, attempts: attempt },
          `could not store ${status} for task ${meta.task_id}: result backend ${backend.safeUrl} unreachable, gave up after ${attempt} attempts`,
        );
        return false;
      }
      if (attempt === 1) {
        this.options.logger.warn(
          { err: error, taskId: meta.task_id, status },
          `result backend ${backend.safeUrl} failed storing ${status} for task ${meta.task_id}; retrying with back-off`,
        );
      }
      await sleep(delayMs);
      delayMs = Math.min(delayMs * 2, 5_000);
      try {
        await backend.store(meta, context);
        if (chordPart) await this.chordPart(request, meta);
        return true;
      } catch (again) {
        error = again;
      }
    }
  }

  meta(
    request: Request,
    status: TaskState,
    result: unknown,
    traceback: string | null,
    other?: OtherTask,
  ): ResultMeta {
    const headers = request.headers;
    const meta: ResultMeta = {
      status,
      result,
      traceback,
      children: other ? [] : (request.children ?? []),
      date_done: isReady(status) ? dateDoneNow() : null,
    } as ResultMeta;
    const groupId = other ? other.groupId : headers.group;
    if (groupId) meta.group_id = groupId;
    const parentId = other ? request.id : headers.parent_id;
    if (parentId) meta.parent_id = parentId;
    if (this.options.extended && !other) {
      meta.name = headers.task;
      meta.args = request.args;
      meta.kwargs = request.kwargs;
      meta.worker = this.options.hostname;
      meta.retries = headers.retries;
      meta.queue = request.delivery.routingKey;
    }
    meta.task_id = other ? other.taskId : request.id;
    return meta;
  }

  /**
   * A chord header task reached a final state: count it, and send the body if it was the last
   * (celery/backends/base.py `mark_as_done`/`mark_as_failure` call `on_chord_part_return` after
   * storing). A counting error is logged, not thrown: the task's own result is already stored.
   */
  private chordPart(request: Request, meta: ResultMeta): Promise<void> {
    return countChordPart(
      request.task.app,
      this.backend,
      request,
      meta.status,
      meta.result,
      this.options.logger,
    );
  }

  private async storeEncodeFailure(
    backend: ResultBackend,
    meta: ResultMeta,
    context: StoreContext,
    error: unknown,
  ): Promise<boolean> {
    const reason = error instanceof Error ? error.message : String(error);
    this.options.logger.error(
      { err: error, taskId: meta.task_id },
      `task ${meta.task_id}: the ${meta.status} result cannot be encoded for the result backend (${reason}); storing FAILURE instead`,
    );
    const info: ExceptionInfo = {
      exc_type: 'EncodeError',
      exc_message: [`${meta.status} result of task ${meta.task_id} could not be encoded: ${reason}`],
      exc_module: 'kombu.exceptions',
    };
    const failure: ResultMeta = {
      ...meta,
      status: States.FAILURE,
      result: info,
      traceback: error instanceof Error ? (error.stack ?? null) : null,
      date_done: utcNowIso(),
    };
    try {
      await backend.store(failure, context);
      return true;
    } catch (again) {
      this.options.logger.error(
        { err: again, taskId: meta.task_id },
        `could not store the FAILURE for task ${meta.task_id} either`,
      );
      return false;
    }
  }
}

/** A backend's "this value does not serialise" (src/backends/errors.ts `ResultEncodeError`) or JSON's own. */
export function isEncodeError(error: unknown): boolean {
  if (error instanceof ResultEncodeError) return true;
  if (!(error instanceof Error)) return false;
  const code = (error as { code?: unknown }).code;
  if (error.name === 'ResultEncodeError' || error.name === 'EncodeError') return true;
  if (typeof code === 'string' && /ENCODE/.test(code)) return true;
  // JSON.stringify throws TypeError for cycles and BigInt, RangeError for strings too long.
  return error instanceof TypeError || error instanceof RangeError;
}

const STORED = Promise.resolve(true);

function storedTrue(): boolean {
  return true;
}

let lastDoneMs = -1;
let lastDoneIso = '';

/** `utcNowIso()`, built once per millisecond: a busy worker stores many results in the same one. */
function dateDoneNow(): string {
  const now = Date.now();
  if (now !== lastDoneMs) {
    lastDoneMs = now;
    lastDoneIso = utcNowIso(now);
  }
  return lastDoneIso;
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
