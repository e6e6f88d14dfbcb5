import { z } from 'zod';
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
  total: number;
  offset: number;
  limit: number;
  tasks: TaskRecord[];
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
