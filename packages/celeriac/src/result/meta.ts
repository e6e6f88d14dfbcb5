import { States, type TaskState } from './states.ts';

/** A stored task result as Celery's key-value backends write it (`Backend._get_result_meta`, §4.1). */
export interface ResultMeta {
  task_id: string;
  status: TaskState;
  /** The return value, or an ExceptionInfo for FAILURE, RETRY and REVOKED. */
  result: unknown;
  traceback: string | null;
  children: unknown[];
  /** Naive UTC ISO (`datetime.utcnow().isoformat()`) for ready states, else null. */
  date_done: string | null;
  group_id?: string | null;
  parent_id?: string | null;
  // result_extended fields
  name?: string | null;
  args?: unknown[] | null;
  kwargs?: Record<string, unknown> | null;
  worker?: string | null;
  retries?: number | null;
  queue?: string | null;
}

/** An exception as it crosses the wire (`prepare_exception` with the JSON serializer). */
export interface ExceptionInfo {
  exc_type: string;
  exc_message: unknown[];
  exc_module: string;
}

export function isExceptionInfo(value: unknown): value is ExceptionInfo {
  return (
    typeof value === 'object' &&
    value !== null &&
    typeof (value as ExceptionInfo).exc_type === 'string' &&
    'exc_message' in value
  );
}

/** `datetime.utcnow().isoformat()`: naive UTC, microseconds, no `Z`. */
export function utcNowIso(now = Date.now()): string {
  return new Date(now).toISOString().replace('Z', '000');
}

/** What a backend answers for an id it has nothing stored for. */
export function pendingMeta(taskId: string): ResultMeta {
  return {
    task_id: taskId,
    status: States.PENDING,
    result: null,
    traceback: null,
    children: [],
    date_done: null,
  };
}
