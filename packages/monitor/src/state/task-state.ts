/**
 * One task as the monitor knows it, folded from its events the way celery/events/state.py `Task`
 * does: each event sets its own timestamp field (`received`, `started`, ...), and a state that
 * logically happened before the current one (an out-of-order `task-received` after
 * `task-succeeded`) only fills in the fields it owns instead of rewinding the state.
 */

/** Times are epoch seconds, as the events carry them. */
export interface TaskRecord {
  uuid: string;
  state: string;
  name: string | null;
  /** `argsrepr` / `kwargsrepr` strings, exactly as the worker sent them. */
  args: string | null;
  kwargs: string | null;
  /** repr string of the return value (task-succeeded). */
  result: string | null;
  exception: string | null;
  traceback: string | null;
  /** Seconds spent running (task-succeeded). */
  runtime: number | null;
  /** The node that sent the last event that counted. */
  worker: string | null;
  retries: number | null;
  eta: string | null;
  expires: string | null;
  parent_id: string | null;
  root_id: string | null;
  sent: number | null;
  received: number | null;
  started: number | null;
  succeeded: number | null;
  failed: number | null;
  retried: number | null;
  revoked: number | null;
  rejected: number | null;
  /** Timestamp of the event that set the current state. */
  timestamp: number;
  /** Every event seen, oldest first (bounded), for the detail page's timeline. */
  timeline: TimelineEntry[];
}

export interface TimelineEntry {
  type: string;
  timestamp: number;
  hostname: string;
}

/** celery/events/state.py `TASK_EVENT_TO_STATE`. */
const EVENT_TO_STATE: Record<string, string> = {
  'task-sent': 'PENDING',
  'task-received': 'RECEIVED',
  'task-started': 'STARTED',
  'task-failed': 'FAILURE',
  'task-retried': 'RETRY',
  'task-succeeded': 'SUCCESS',
  'task-revoked': 'REVOKED',
  'task-rejected': 'REJECTED',
};

/** The timestamp field each event type sets (Celery sets `setattr(self, type_[5:], timestamp)`). */
const EVENT_TIME_FIELD: Record<string, keyof TaskRecord> = {
  'task-sent': 'sent',
  'task-received': 'received',
  'task-started': 'started',
  'task-failed': 'failed',
  'task-retried': 'retried',
  'task-succeeded': 'succeeded',
  'task-revoked': 'revoked',
  'task-rejected': 'rejected',
};

/**
 * celery/states.py `PRECEDENCE`: earlier in the list = later in a task's life. Unknown (custom)
 * states rank where `None` is.
 */
const PRECEDENCE = [
  'SUCCESS',
  'FAILURE',
  null,
  'REVOKED',
  'STARTED',
  'RECEIVED',
  'REJECTED',
  'RETRY',
  'PENDING',
];
const UNKNOWN_RANK = PRECEDENCE.indexOf(null);

export function precedence(state: string): number {
  const rank = PRECEDENCE.indexOf(state);
  return rank === -1 ? UNKNOWN_RANK : rank;
}

/** celery/events/state.py `Task.merge_rules`: what a late RECEIVED may still contribute. */
const RECEIVED_MERGE_FIELDS = new Set([
  'name',
  'args',
  'kwargs',
  'parent_id',
  'root_id',
  'retries',
  'eta',
  'expires',
]);

/** Fields an event may carry, with the type each must have; anything else is dropped. */
const STRING_FIELDS = [
  'name',
  'args',
  'kwargs',
  'result',
  'exception',
  'traceback',
  'eta',
  'expires',
  'parent_id',
  'root_id',
] as const;
const NUMBER_FIELDS = ['runtime', 'retries'] as const;

const TIMELINE_LIMIT = 50;

export function newTask(uuid: string, timestamp: number): TaskRecord {
  return {
    uuid,
    state: 'PENDING',
    name: null,
    args: null,
    kwargs: null,
    result: null,
    exception: null,
    traceback: null,
    runtime: null,
    worker: null,
    retries: null,
    eta: null,
    expires: null,
    parent_id: null,
    root_id: null,
    sent: null,
    received: null,
    started: null,
    succeeded: null,
    failed: null,
    retried: null,
    revoked: null,
    rejected: null,
    timestamp,
    timeline: [],
  };
}

/** Folds one (already validated) task event into the record; mirrors `Task.event`. */
export function applyTaskEvent(
  task: TaskRecord,
  type: string,
  timestamp: number,
  hostname: string,
  event: Record<string, unknown>,
): void {
  const known = EVENT_TO_STATE[type];
  const state = known ?? type.replace(/^task-/, '').toUpperCase();
  const timeField = EVENT_TIME_FIELD[type];
  if (timeField) (task as unknown as Record<string, unknown>)[timeField] = timestamp;

  task.timeline.push({ type, timestamp, hostname });
  if (task.timeline.length > TIMELINE_LIMIT) task.timeline.splice(0, task.timeline.length - TIMELINE_LIMIT);

  const fields = pickFields(event);
  // "note that precedence here is reversed": a higher rank means it happened before the current state.
  const happenedBefore =
    state !== 'RETRY' && task.state !== 'RETRY' && precedence(state) > precedence(task.state);
  if (happenedBefore) {
    task.worker ??= hostname;
    if (state !== 'RECEIVED') return;
    for (const [key, value] of Object.entries(fields)) {
      if (RECEIVED_MERGE_FIELDS.has(key)) (task as unknown as Record<string, unknown>)[key] = value;
    }
    return;
  }
  Object.assign(task, fields);
  task.state = state;
  task.timestamp = timestamp;
  task.worker = hostname;
}

function pickFields(event: Record<string, unknown>): Partial<TaskRecord> {
  const out: Record<string, unknown> = {};
  for (const key of STRING_FIELDS) {
    const value = event[key];
    if (typeof value === 'string') out[key] = clipField(value);
    // Python workers send args/kwargs as reprs, but a foreign sender may send raw JSON.
    else if (
      value !== undefined &&
      value !== null &&
      (key === 'args' || key === 'kwargs' || key === 'result')
    )
      out[key] = clipField(safeJson(value));
  }
  for (const key of NUMBER_FIELDS) {
    const value = event[key];
    if (typeof value === 'number' && Number.isFinite(value)) out[key] = value;
  }
  return out as Partial<TaskRecord>;
}

/**
 * Longest text kept per field. Celery's own reprs stop at 1 KiB (`resultrepr_maxsize`); this only
 * stops a foreign sender's megabytes from filling memory and history (100,000 tasks × fields).
 */
const MAX_FIELD = 64 * 1024;

function clipField(value: string): string {
  return value.length > MAX_FIELD
    ? `${value.slice(0, MAX_FIELD)}… [clipped ${value.length - MAX_FIELD} characters]`
    : value;
}

function safeJson(value: unknown): string {
  try {
    return JSON.stringify(value) ?? String(value);
  } catch {
    return String(value);
  }
}

/** Task states after which nothing more is expected (celery/states.py `READY_STATES`). */
export const READY_STATES: ReadonlySet<string> = new Set(['SUCCESS', 'FAILURE', 'REVOKED']);
