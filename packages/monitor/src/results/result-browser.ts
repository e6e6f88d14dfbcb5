import type { Celeriac, ListPageOptions, SqlBackend, StoredResult } from 'celeriac';
import { z } from 'zod';

/** What the Results pages need of a backend: only the SQL backend can browse its results. */
export type ResultBrowser = Pick<SqlBackend, 'listPage' | 'getStored' | 'deleteResult'>;

/** The app's SQL result backend, or undefined (no backend, or one that cannot list: Redis, rpc, memory). */
export async function resultBrowser(app: Celeriac): Promise<ResultBrowser | undefined> {
  const backend = (await app.backend()) as Partial<ResultBrowser> | undefined;
  if (!backend) return undefined;
  const { listPage, getStored, deleteResult } = backend;
  if (typeof listPage !== 'function' || typeof getStored !== 'function' || typeof deleteResult !== 'function')
    return undefined;
  return backend as ResultBrowser;
}

export const NO_SQL_BACKEND =
  'Results are browsed in an SQL result backend (postgresql://, mysql:// or sqlite://); this app has none.';

/** Task ids are free-form in Celery; anything printable without slashes, up to 255 characters. */
export const RESULT_ID = /^[^\s/\\]{1,255}$/;

const STATE = /^[A-Z][A-Z_]{0,49}$/;
const blank = (v: unknown) => (v === '' ? undefined : v);

/** `2026-11-24`, `2026-11-24T07:30` (a form's datetime-local, read as UTC), any ISO time, or epoch seconds. */
const DateParam = z.preprocess(
  blank,
  z
    .string()
    .max(40)
    .transform((text, ctx) => {
      if (/^\d+(\.\d+)?$/.test(text)) return Math.round(Number(text) * 1000);
      const zoned = /(Z|[+-]\d\d:?\d\d)$/i.test(text) || !/T|\s/.test(text) ? text : `${text}Z`;
      const ms = Date.parse(zoned.replace(' ', 'T'));
      if (Number.isNaN(ms)) {
        ctx.addIssue({ code: 'custom', message: `not a date: ${text}` });
        return z.NEVER;
      }
      return ms;
    })
    .optional(),
);

/** The list's filters, as query parameters (the API's and the page form's). */
export const ResultQuerySchema = z.object({
  limit: z.preprocess(blank, z.coerce.number().int().min(1).max(500).default(50)),
  cursor: z.preprocess(
    blank,
    z
      .string()
      .max(200)
      .regex(/^[A-Za-z0-9_-]+$/, 'not a cursor')
      .optional(),
  ),
  state: z.preprocess(
    blank,
    z
      .string()
      .max(500)
      .transform((text, ctx) => {
        const states = text.split(',').map((s) => s.trim().toUpperCase());
        if (!states.every((s) => STATE.test(s))) {
          ctx.addIssue({ code: 'custom', message: `not a task state: ${text}` });
          return z.NEVER;
        }
        return states;
      })
      .optional(),
  ),
  taskname: z.preprocess(blank, z.string().max(255).optional()),
  search: z.preprocess(blank, z.string().max(255).optional()),
  date_from: DateParam,
  date_to: DateParam,
});

export type ResultQuery = z.infer<typeof ResultQuerySchema>;

export function listOptions(query: ResultQuery): ListPageOptions {
  return {
    limit: query.limit,
    ...(query.cursor !== undefined && { cursor: query.cursor }),
    ...(query.state !== undefined && { states: query.state }),
    ...(query.taskname !== undefined && { name: query.taskname }),
    ...(query.search !== undefined && { search: query.search }),
    ...(query.date_from !== undefined && { createdFromMs: query.date_from }),
    ...(query.date_to !== undefined && { createdToMs: query.date_to }),
  };
}

/** A stored result as the API returns it (django-celery-results' field names where it has them). */
export function resultJson(r: StoredResult): Record<string, unknown> {
  return {
    task_id: r.task_id,
    task_name: r.name ?? null,
    status: r.status,
    worker: r.worker ?? null,
    date_created: new Date(r.created_at_ms).toISOString(),
    date_updated: new Date(r.updated_at_ms).toISOString(),
    date_done: r.date_done ? `${r.date_done.replace(/\d{3}$/, '')}Z` : null,
    task_args: argsText(r.args_repr, r.args),
    task_kwargs: argsText(r.kwargs_repr, r.kwargs),
    result: r.result ?? null,
    traceback: r.traceback ?? null,
    children: r.children ?? [],
    parent_id: r.parent_id ?? null,
    group_id: r.group_id ?? null,
    root_id: r.root_id ?? null,
    retries: r.retries ?? null,
    queue: r.queue ?? null,
    periodic_task_name: r.periodic_task_name ?? null,
    meta: r.meta ?? null,
  };
}

/** args/kwargs as text: the stored repr, or JSON. */
export function argsText(repr: string | null | undefined, value: unknown): string | null {
  if (typeof repr === 'string') return repr;
  return value === null || value === undefined ? null : JSON.stringify(value);
}

/** Whether an error is a cursor the table did not issue (`ResultCursorError`). */
export function isCursorError(error: unknown): boolean {
  return (error as { code?: unknown } | null)?.code === 'RESULT_CURSOR';
}
