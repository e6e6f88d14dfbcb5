import { z } from 'zod';
import { decodeCursor } from '../history/history-cursor.ts';
import { HISTORY_SORTS } from '../history/history-query.ts';
import type { ClusterState } from './cluster-state.ts';
import type { TaskRecord } from './task-state.ts';

/** An epoch-seconds number or an ISO date; empty means "not given" (as an empty form field sends). */
const time = z
  .union([z.string(), z.number()])
  .optional()
  .transform((value, ctx) => {
    if (value === undefined || value === '') return undefined;
    const n = typeof value === 'number' ? value : Number(value);
    if (Number.isFinite(n)) return n;
    const ms = Date.parse(String(value));
    if (Number.isNaN(ms)) {
      ctx.addIssue({ code: 'custom', message: `not a date or epoch seconds: ${String(value).slice(0, 40)}` });
      return z.NEVER;
    }
    return ms / 1000;
  });

const optionalText = z
  .string()
  .max(500)
  .optional()
  .transform((v) => (v === undefined || v.trim() === '' ? undefined : v.trim()));

const cursor = z
  .string()
  .max(400)
  .optional()
  .transform((v) => (v === '' ? undefined : v))
  .refine((v) => v === undefined || isCursor(v), 'not a cursor from this monitor (use its next/prev links)');

/** The `/api/tasks` query (Flower's parameter names). */
export const TaskQuerySchema = z.object({
  limit: z.coerce.number().int().min(1).max(1000).default(100),
  offset: z.coerce.number().int().min(0).default(0),
  /** One state or several, comma-separated: `FAILURE,RETRY`. */
  state: optionalText,
  taskname: optionalText,
  workername: optionalText,
  /** Substring of the uuid, name, args, kwargs or result. */
  search: optionalText,
  received_start: time,
  received_end: time,
  /** Keyset cursors from a previous page's `next` / `prev` (history only; they win over `offset`). */
  after: cursor,
  before: cursor,
  sort_by: z
    .enum([
      'received',
      '-received',
      'started',
      '-started',
      'timestamp',
      '-timestamp',
      'name',
      '-name',
      'runtime',
      '-runtime',
    ])
    .default('-timestamp'),
});

export type TaskQuery = z.output<typeof TaskQuerySchema>;

export interface TaskPage {
  /** Matching tasks, counted up to 10,000 (see `totalCapped`). */
  total: number;
  /** There are more than `total` ("more than 10,000"): the count stops there. */
  totalCapped?: boolean;
  offset: number;
  limit: number;
  tasks: TaskRecord[];
  /** Cursor for the next page (`after=`), when there is one. */
  next?: string;
  /** Cursor for the previous page (`before=`). */
  prev?: string;
  /** A substring search read this many rows (its window) without filling the page; `next` searches on. */
  searchWindowFull?: number;
  /** Memory (the newest `maxTasks`, freshest) or the SQL history (everything retained). */
  source?: 'memory' | 'history';
}

/** What `listTasks` needs of the history: a page query and a flush for read-your-writes. */
export interface TaskPageSource {
  readonly pending: number;
  flush(): Promise<void>;
  query(query: TaskQuery): Promise<TaskPage>;
}

/**
 * The task list, from the SQL history whenever there is one and it can sort as asked (the history
 * holds everything retained, memory only the newest `maxTasks`, so one source keeps pages and
 * counts consistent from the first page to the last); from memory otherwise, or for sorts the
 * history has no index for (`name`, `started`, `runtime`). Pending writes are flushed first, so
 * a task the monitor has seen is listed.
 */
export async function listTasks(
  state: ClusterState,
  history: TaskPageSource | undefined,
  query: TaskQuery,
): Promise<TaskPage> {
  if (!history || !HISTORY_SORTS.has(query.sort_by)) return { ...queryTasks(state, query), source: 'memory' };
  if (history.pending > 0) await history.flush().catch(() => undefined);
  return history.query(query);
}

export function queryTasks(state: ClusterState, query: TaskQuery): TaskPage {
  const states = query.state ? new Set(query.state.split(',').map((s) => s.trim().toUpperCase())) : undefined;
  const needle = query.search?.toLowerCase();
  const matches: TaskRecord[] = [];
  for (const task of state.tasksNewestFirst()) {
    if (states && !states.has(task.state)) continue;
    if (query.taskname && task.name !== query.taskname) continue;
    if (query.workername && task.worker !== query.workername) continue;
    const received = task.received ?? task.sent ?? task.timestamp;
    if (query.received_start !== undefined && received < query.received_start) continue;
    if (query.received_end !== undefined && received > query.received_end) continue;
    if (needle && !searchable(task).includes(needle)) continue;
    matches.push(task);
  }
  const descending = query.sort_by.startsWith('-');
  const key = query.sort_by.replace(/^-/, '') as 'received' | 'started' | 'timestamp' | 'name' | 'runtime';
  if (key !== 'timestamp' || !descending) {
    matches.sort((a, b) => {
      const x = a[key] ?? (key === 'name' ? '' : 0);
      const y = b[key] ?? (key === 'name' ? '' : 0);
      const order = x < y ? -1 : x > y ? 1 : 0;
      return descending ? -order : order;
    });
  }
  return {
    total: matches.length,
    offset: query.offset,
    limit: query.limit,
    tasks: matches.slice(query.offset, query.offset + query.limit),
  };
}

function searchable(task: TaskRecord): string {
  return [task.uuid, task.name, task.args, task.kwargs, task.result].filter(Boolean).join('\n').toLowerCase();
}

function isCursor(text: string): boolean {
  try {
    decodeCursor(text);
    return true;
  } catch {
    return false;
  }
}
