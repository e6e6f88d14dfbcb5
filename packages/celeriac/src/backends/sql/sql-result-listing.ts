import {
  CompiledQuery,
  sql,
  type Expression,
  type Kysely,
  type SelectQueryBuilder,
  type SqlBool,
} from 'kysely';
import type { ResultMeta } from '../../result/meta.ts';
import { READY_STATES } from '../../result/states.ts';
import { liveResultRow, resultRowToMeta } from './celeriac-result-table.ts';
import type { DjangoTaskResultTable } from './django-result-table.ts';
import type { SqlDialectName } from './sql-connection.ts';
import { RESULT_TABLE, type TaskResultTable } from './sql-schema.ts';
import { naiveIso, type SqlResultDatabase } from './sql-tables.ts';

const DJANGO_TABLE = 'django_celery_results_taskresult';

/** One stored result with when its row was first and last written. */
export interface StoredResult extends ResultMeta {
  created_at_ms: number;
  updated_at_ms: number;
  /** args and kwargs as stored: JSON in our table, Python reprs in django-celery-results'. */
  args_repr?: string | null;
  kwargs_repr?: string | null;
  root_id?: string | null;
  /** django-celery-results' `meta` column and `periodic_task_name` (its table only). */
  meta?: unknown;
  periodic_task_name?: string | null;
}

/** What to show; every field narrows. */
export interface ResultFilter {
  /** Exact task name (e.g. `tasks.add`). */
  name?: string;
  /** Only these states; an empty list matches nothing. */
  states?: readonly string[];
  /** The task id, or a substring of the id, the name, args or kwargs. */
  search?: string;
  /** Rows created at or after this (epoch ms). */
  createdFromMs?: number;
  /** Rows created before this (epoch ms). */
  createdToMs?: number;
}

/** How many rows match: `exact`, the database's `estimate` of the whole table, or `at-least` a cap. */
export interface ResultTotal {
  count: number;
  kind: 'exact' | 'estimate' | 'at-least';
}

export interface ResultPage {
  results: StoredResult[];
  /** Pass as `cursor` for the next (older) page; null on the last page. */
  next: string | null;
  total: ResultTotal;
}

/** A bad `cursor` (edited by hand, or from another table). */
export class ResultCursorError extends RangeError {
  readonly code = 'RESULT_CURSOR';
}

/**
 * Browsing one result table, newest first, with keyset pagination: a page starts after the last
 * row of the previous one (`cursor`), so page 10 000 costs what page 1 costs. Our table sorts on
 * (created_at_ms, id), both exact integers, with the composite indexes of migration 0002; django's
 * sorts on its primary key (insertion order) because its `date_created` has microseconds a JS
 * cursor cannot carry exactly, and filters its date range on the indexed `date_created`.
 */
export interface ResultListing {
  page(
    db: Kysely<SqlResultDatabase>,
    filter: ResultFilter,
    limit: number,
    position: { cursor?: string; offset?: number },
    now: number,
  ): Promise<{ results: StoredResult[]; next: string | null }>;
  /** Matching rows, counting no further than `cap`. */
  cappedCount(db: Kysely<SqlResultDatabase>, filter: ResultFilter, cap: number, now: number): Promise<number>;
  /** The planner's row count of the whole table; undefined where the database keeps none. */
  estimate(db: Kysely<SqlResultDatabase>): Promise<number | undefined>;
  find(db: Kysely<SqlResultDatabase>, taskId: string, now: number): Promise<StoredResult | undefined>;
  /** Deletes one row; false when there was none. */
  remove(db: Kysely<SqlResultDatabase>, taskId: string): Promise<boolean>;
  /** The database's plan for `page()` (one line per step), to check that it walks an index. */
  explain(db: Kysely<SqlResultDatabase>, filter: ResultFilter, limit: number): Promise<string[]>;
}

/** `%`, `_` and the escape itself are literal in a search; `!` works as ESCAPE in all three dialects. */
function likePattern(text: string): string {
  return `%${text.replace(/[!%_]/g, (c) => `!${c}`)}%`;
}

function like(column: string, text: string): Expression<SqlBool> {
  return sql<SqlBool>`${sql.ref(column)} like ${likePattern(text)} escape '!'`;
}

/** A search matches the task id exactly, or a substring of the id or of any of `columns`. */
function searchTerms(search: string, columns: readonly string[]): Expression<SqlBool>[] {
  return [
    sql<SqlBool>`${sql.ref('task_id')} = ${search}`,
    ...['task_id', ...columns].map((column) => like(column, search)),
  ];
}

function encodeCursor(parts: number[]): string {
  return Buffer.from(parts.join('.')).toString('base64url');
}

function decodeCursor(cursor: string, size: number): number[] {
  const parts = Buffer.from(cursor, 'base64url').toString('latin1').split('.');
  const numbers = parts.map(Number);
  if (parts.length !== size || numbers.some((n) => !Number.isSafeInteger(n))) {
    throw new ResultCursorError(`not a cursor of this result table: ${JSON.stringify(cursor.slice(0, 40))}`);
  }
  return numbers;
}

function jsonOrText(text: string | null): unknown {
  if (text === null || text === undefined) return null;
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}

function planLines(dialect: SqlDialectName, rows: Record<string, unknown>[]): string[] {
  if (dialect === 'sqlite') return rows.map((r) => String(r.detail));
  if (dialect === 'postgres') return rows.map((r) => String(r['QUERY PLAN']));
  // MySQL/MariaDB: one row per table access: type (index, range, ref, ALL), key, Extra.
  return rows.map((r) => `type=${String(r.type)} key=${String(r.key)} extra=${String(r.Extra ?? '')}`);
}

async function explainQuery(
  db: Kysely<SqlResultDatabase>,
  dialect: SqlDialectName,
  query: { compile(): { sql: string; parameters: readonly unknown[] } },
): Promise<string[]> {
  const compiled = query.compile();
  const prefix = dialect === 'sqlite' ? 'explain query plan ' : 'explain ';
  const result = await db.executeQuery<Record<string, unknown>>(
    CompiledQuery.raw(prefix + compiled.sql, [...compiled.parameters]),
  );
  return planLines(dialect, result.rows);
}

async function tableEstimate(
  db: Kysely<SqlResultDatabase>,
  dialect: SqlDialectName,
  table: string,
): Promise<number | undefined> {
  if (dialect === 'postgres') {
    const { rows } = await sql<{ n: number | string | null }>`
      select reltuples::bigint as n from pg_class where oid = to_regclass(${table})`.execute(db);
    const n = Number(rows[0]?.n ?? -1);
    return n >= 0 ? n : undefined; // -1: never analysed
  }
  if (dialect === 'mysql') {
    const { rows } = await sql<{ n: number | string | null }>`
      select table_rows as n from information_schema.tables
      where table_schema = database() and table_name = ${table}`.execute(db);
    const n = Number(rows[0]?.n ?? Number.NaN);
    return Number.isFinite(n) ? n : undefined;
  }
  return undefined;
}

/** Our table (`celeriac_task_result`). */
export function celeriacListing(dialect: SqlDialectName): ResultListing {
  const filtered = (db: Kysely<SqlResultDatabase>, f: ResultFilter, now: number) => {
    let q = db.selectFrom(RESULT_TABLE);
    if (f.name !== undefined) q = q.where('name', '=', f.name);
    if (f.states !== undefined) q = q.where('status', 'in', [...f.states]);
    if (f.createdFromMs !== undefined) q = q.where('created_at_ms', '>=', f.createdFromMs);
    if (f.createdToMs !== undefined) q = q.where('created_at_ms', '<', f.createdToMs);
    const search = f.search;
    if (search) {
      q = q.where((eb) => eb.or(searchTerms(search, ['name', 'args', 'kwargs'])));
    }
    return q.where((eb) => eb.or([eb('expires_at_ms', 'is', null), eb('expires_at_ms', '>', now)]));
  };
  const pageQuery = (
    db: Kysely<SqlResultDatabase>,
    f: ResultFilter,
    limit: number,
    now: number,
    cursor?: string,
  ) => {
    let q = filtered(db, f, now).selectAll();
    if (cursor !== undefined) {
      const [created, id] = decodeCursor(cursor, 2) as [number, number];
      // The redundant `<=` gives the index a range to start from; the OR settles ties on id.
      q = q
        .where('created_at_ms', '<=', created)
        .where((eb) =>
          eb.or([
            eb('created_at_ms', '<', created),
            eb.and([eb('created_at_ms', '=', created), eb('id', '<', id)]),
          ]),
        );
    }
    return q.orderBy('created_at_ms', 'desc').orderBy('id', 'desc').limit(limit);
  };
  return {
    async page(db, filter, limit, { cursor, offset }, now) {
      if (filter.states?.length === 0) return { results: [], next: null };
      let q = pageQuery(db, filter, limit + 1, now, cursor);
      if (offset) q = q.offset(offset);
      const rows = await q.execute();
      const more = rows.length > limit;
      const results = rows.slice(0, limit).map(fromOurRow);
      const last = rows[limit - 1];
      return {
        results,
        next: more && last ? encodeCursor([Number(last.created_at_ms), Number(last.id)]) : null,
      };
    },
    async cappedCount(db, filter, cap, now) {
      if (filter.states?.length === 0) return 0;
      return countUpTo(db, filtered(db, filter, now), cap);
    },
    estimate: (db) => tableEstimate(db, dialect, RESULT_TABLE),
    async find(db, taskId, now) {
      const row = await liveResultRow(db, taskId, now);
      return row && fromOurRow(row);
    },
    remove: (db, taskId) => removeTask(db, RESULT_TABLE, taskId),
    explain: (db, filter, limit) => explainQuery(db, dialect, pageQuery(db, filter, limit + 1, Date.now())),
  };
}

/** How many rows `rows` selects, counting no further than `cap` (a LIMITed subquery). */
async function countUpTo<TB extends keyof SqlResultDatabase>(
  db: Kysely<SqlResultDatabase>,
  rows: SelectQueryBuilder<SqlResultDatabase, TB, object>,
  cap: number,
): Promise<number> {
  const inner = rows
    .select(sql<number>`1`.as('one'))
    .limit(cap)
    .as('capped');
  const row = await db
    .selectFrom(inner)
    .select((eb) => eb.fn.countAll<number | string>().as('n'))
    .executeTakeFirstOrThrow();
  return Number(row.n);
}

/** Deletes the task's row from `table`; whether there was one. */
async function removeTask(
  db: Kysely<SqlResultDatabase>,
  table: typeof RESULT_TABLE | typeof DJANGO_TABLE,
  taskId: string,
): Promise<boolean> {
  const r = await db.deleteFrom(table).where('task_id', '=', taskId).executeTakeFirst();
  return Number(r.numDeletedRows) > 0;
}

function fromOurRow(row: TaskResultTable): StoredResult {
  return {
    ...resultRowToMeta(row),
    root_id: row.root_id,
    args_repr: row.args,
    kwargs_repr: row.kwargs,
    created_at_ms: Number(row.created_at_ms),
    updated_at_ms: Number(row.updated_at_ms),
  };
}

/** django-celery-results 2.4's table (`django_celery_results_taskresult`). */
export function djangoListing(dialect: SqlDialectName): ResultListing {
  // Django keeps SQLite datetimes as naive UTC text; drivers take Dates elsewhere (django-result-table.ts).
  const datetime = (ms: number): Date | string =>
    dialect === 'sqlite' ? naiveIso(ms).replace('T', ' ') : new Date(ms);
  const filtered = (db: Kysely<SqlResultDatabase>, f: ResultFilter) => {
    let q = db.selectFrom(DJANGO_TABLE);
    if (f.name !== undefined) q = q.where('task_name', '=', f.name);
    if (f.states !== undefined) q = q.where('status', 'in', [...f.states]);
    if (f.createdFromMs !== undefined) q = q.where('date_created', '>=', datetime(f.createdFromMs));
    if (f.createdToMs !== undefined) q = q.where('date_created', '<', datetime(f.createdToMs));
    const search = f.search;
    if (search) {
      q = q.where((eb) => eb.or(searchTerms(search, ['task_name', 'task_args', 'task_kwargs'])));
    }
    return q;
  };
  const pageQuery = (db: Kysely<SqlResultDatabase>, f: ResultFilter, limit: number, cursor?: string) => {
    let q = filtered(db, f).selectAll();
    if (cursor !== undefined) {
      const [id] = decodeCursor(cursor, 1) as [number];
      q = q.where('id', '<', id);
    }
    return q.orderBy('id', 'desc').limit(limit);
  };
  return {
    async page(db, filter, limit, { cursor, offset }) {
      if (filter.states?.length === 0) return { results: [], next: null };
      let q = pageQuery(db, filter, limit + 1, cursor);
      if (offset) q = q.offset(offset);
      const rows = await q.execute();
      const last = rows[limit - 1];
      return {
        results: rows.slice(0, limit).map(fromDjangoRow),
        next: rows.length > limit && last ? encodeCursor([Number(last.id)]) : null,
      };
    },
    async cappedCount(db, filter, cap) {
      if (filter.states?.length === 0) return 0;
      return countUpTo(db, filtered(db, filter), cap);
    },
    estimate: (db) => tableEstimate(db, dialect, DJANGO_TABLE),
    async find(db, taskId) {
      const row = await db
        .selectFrom(DJANGO_TABLE)
        .selectAll()
        .where('task_id', '=', taskId)
        .executeTakeFirst();
      return row ? fromDjangoRow(row) : undefined;
    },
    remove: (db, taskId) => removeTask(db, DJANGO_TABLE, taskId),
    explain: (db, filter, limit) => explainQuery(db, dialect, pageQuery(db, filter, limit + 1)),
  };
}

function djangoMs(value: Date | string): number {
  if (value instanceof Date) return value.getTime();
  const text = String(value).replace(' ', 'T');
  const ms = Date.parse(/(Z|[+-]\d\d:?\d\d)$/i.test(text) ? text : `${text}Z`);
  return Number.isNaN(ms) ? 0 : ms;
}

function fromDjangoRow(row: DjangoTaskResultTable): StoredResult {
  const meta = jsonOrText(row.meta);
  const children = (meta as { children?: unknown } | null)?.children;
  const done = djangoMs(row.date_done);
  const argsRepr = jsonOrText(row.task_args);
  const kwargsRepr = jsonOrText(row.task_kwargs);
  return {
    task_id: row.task_id,
    status: row.status,
    result: jsonOrText(row.result),
    traceback: row.traceback,
    children: Array.isArray(children) ? children : [],
    date_done: READY_STATES.has(row.status) ? naiveIso(done) : null,
    name: row.task_name,
    worker: row.worker,
    args_repr: argsRepr === null ? null : String(argsRepr),
    kwargs_repr: kwargsRepr === null ? null : String(kwargsRepr),
    meta,
    periodic_task_name: row.periodic_task_name,
    created_at_ms: djangoMs(row.date_created),
    updated_at_ms: done,
  };
}
