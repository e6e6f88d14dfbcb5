import { decodeJson } from '../protocol/json.ts';
import type { ResultMeta } from '../result/meta.ts';
import { ResultDecodeError, ResultEncodeError } from './errors.ts';

/**
 * JSON for stored results, strict where `JSON.stringify` is lenient: a function or symbol in a
 * result would vanish silently, so it is an error here, as Python's `json.dumps` raises `TypeError`.
 */
export function encodeResultJson(taskId: string, value: unknown): string {
  try {
    return JSON.stringify(value, strictReplacer);
  } catch (error) {
    const reason = error instanceof Error ? error.message : String(error);
    throw new ResultEncodeError(taskId, reason, { cause: error });
  }
}

/** encodeJson's conversions (protocol/json.ts), plus a refusal of what JSON would silently drop. */
function strictReplacer(this: unknown, key: string, value: unknown): unknown {
  if (typeof value === 'function' || typeof value === 'symbol') {
    throw new TypeError(
      `a ${typeof value} at ${key === '' ? 'the top level' : `key ${JSON.stringify(key)}`}`,
    );
  }
  if (typeof value === 'bigint') return value.toString();
  if (value instanceof Map) return Object.fromEntries(value);
  if (value instanceof Set) return [...value];
  return value;
}

/** Reads a stored meta; fills what older or foreign writers leave out so callers get a full ResultMeta. */
export function decodeResultMeta(taskId: string, text: string): ResultMeta {
  let parsed: unknown;
  try {
    parsed = decodeJson(text);
  } catch (error) {
    throw new ResultDecodeError(taskId, `not JSON (${text.slice(0, 60)})`, { cause: error });
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
    throw new ResultDecodeError(taskId, `expected an object, got ${text.slice(0, 60)}`);
  }
  const meta = parsed as Partial<ResultMeta>;
  if (typeof meta.status !== 'string') throw new ResultDecodeError(taskId, 'no "status" field');
  return {
    ...meta,
    task_id: typeof meta.task_id === 'string' ? meta.task_id : taskId,
    status: meta.status,
    result: meta.result ?? null,
    traceback: meta.traceback ?? null,
    children: Array.isArray(meta.children) ? meta.children : [],
    date_done: meta.date_done ?? null,
  };
}

/**
 * The meta as Python's `_get_result_meta` orders it (status first, which the Redis store script
 * relies on to read the status cheaply), then group/parent ids and result_extended fields.
 */
export function encodeResultMeta(meta: ResultMeta): string {
  if (typeof meta?.task_id !== 'string' || meta.task_id === '') {
    throw new TypeError(`cannot store a result without a task_id (got ${JSON.stringify(meta?.task_id)})`);
  }
  if (typeof meta.status !== 'string' || meta.status === '') {
    throw new TypeError(`cannot store a result for task ${meta.task_id} without a status`);
  }
  const { status, result, traceback, children, date_done, task_id, ...rest } = meta;
  // Field by field, so the strict replacer only walks values that can hold something JSON would
  // drop (a no-op task's meta is all primitives). The text is what one JSON.stringify of the
  // whole meta gives, except that a field whose value serialises to nothing is null, not absent.
  let json =
    `{"status":${JSON.stringify(status)}` +
    `,"result":${encodeField(task_id, 'result', result ?? null)}` +
    `,"traceback":${encodeField(task_id, 'traceback', traceback ?? null)}` +
    `,"children":${encodeField(task_id, 'children', children ?? [])}` +
    `,"date_done":${encodeField(task_id, 'date_done', date_done ?? null)}` +
    `,"task_id":${JSON.stringify(task_id)}`;
  for (const key in rest) {
    const part = encodeResultJson(task_id, { [key]: (rest as Record<string, unknown>)[key] });
    if (part.length > 2) json += `,${part.slice(1, -1)}`; // '{}' when the value is undefined
  }
  return `${json}}`;
}

/** One field's JSON: primitives and empty arrays directly, anything else through the strict replacer. */
function encodeField(taskId: string, key: string, value: unknown): string {
  if (value === null) return 'null';
  const type = typeof value;
  if (type === 'string' || type === 'number' || type === 'boolean') return JSON.stringify(value);
  if (Array.isArray(value) && value.length === 0 && Object.getPrototypeOf(value) === Array.prototype)
    return '[]';
  const wrapped = encodeResultJson(taskId, { [key]: value });
  // `{"key":<value>}`; a value JSON leaves out (undefined) becomes null, as in an array.
  return wrapped.length > 2 ? wrapped.slice(key.length + 4, -1) : 'null';
}
