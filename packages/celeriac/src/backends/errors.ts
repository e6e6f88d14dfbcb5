/**
 * Errors every result backend raises. The worker catches `ResultEncodeError` from `store()` and
 * stores a FAILURE in its place (Celery does the same with `EncodeError` in `celery/app/trace.py`).
 */

/** The value cannot be written as JSON (circular object, function, symbol...): nothing was stored. */
export class ResultEncodeError extends Error {
  readonly code = 'RESULT_ENCODE';
  constructor(
    readonly taskId: string,
    reason: string,
    options?: { cause?: unknown },
  ) {
    super(`result of task ${taskId} cannot be encoded as JSON: ${reason}`, options);
    this.name = 'ResultEncodeError';
  }
}

/** What the backend holds for a task is not a result meta we can read (corrupt or foreign data). */
export class ResultDecodeError extends Error {
  readonly code = 'RESULT_DECODE';
  constructor(
    readonly taskId: string,
    reason: string,
    options?: { cause?: unknown },
  ) {
    super(`stored result of task ${taskId} cannot be decoded: ${reason}`, options);
    this.name = 'ResultDecodeError';
  }
}

/** The backend was closed while a caller was still waiting for a result. */
export class BackendClosedError extends Error {
  readonly code = 'BACKEND_CLOSED';
  constructor(backend: string) {
    super(`the ${backend} result backend was closed while waiting for a result`);
    this.name = 'BackendClosedError';
  }
}
