import type { Kysely } from 'kysely';
import { saferepr, argsRepr } from '../../protocol/repr.ts';
import { encodeResultJson } from '../result-json.ts';
import type { ResultMeta } from '../../result/meta.ts';
import { READY_STATES, States } from '../../result/states.ts';
import type { SqlDialectName } from './sql-connection.ts';
import {
  naiveIso,
  parseJsonColumn,
  type ResultTableAdapter,
  type SqlResultDatabase,
  type WriteTimes,
  writeUnlessSuccess,
} from './sql-tables.ts';

const TABLE = 'django_celery_results_taskresult';

/** django-celery-results 2.4's `TaskResult` (django_celery_results/models.py, §4.5). */
export interface DjangoTaskResultTable {
  id: number | undefined;
  task_id: string;
  periodic_task_name: string | null;
  task_name: string | null;
  task_args: string | null;
  task_kwargs: string | null;
  status: string;
  worker: string | null;
  content_type: string;
  content_encoding: string;
  result: string | null;
  date_created: Date | string;
  date_done: Date | string;
  traceback: string | null;
  meta: string | null;
}

export interface DjangoResultDatabase {
  django_celery_results_taskresult: DjangoTaskResultTable;
}

/**
 * Writes django-celery-results' table as its `DatabaseBackend._store_result` does, so an existing
 * Django admin lists Celeriac's results. Django's `migrate` owns the schema: we create nothing.
 * `task_args`/`task_kwargs` hold the JSON-encoded reprs, as django-celery-results stores them.
 */
export function djangoResultTable(dialect: SqlDialectName): ResultTableAdapter {
  // Django keeps SQLite datetimes as 'YYYY-MM-DD HH:MM:SS.ffffff' text in UTC; drivers take Dates elsewhere.
  const datetime = (ms: number): Date | string =>
    dialect === 'sqlite' ? naiveIso(ms).replace('T', ' ') : new Date(ms);
  return {
    table: TABLE,
    migrations: () => null,

    async write(db: Kysely<SqlResultDatabase>, meta: ResultMeta, { now }: WriteTimes): Promise<void> {
      const row = {
        status: meta.status,
        result: encodeResultJson(meta.task_id, meta.result ?? null),
        traceback: meta.traceback ?? null,
        meta: encodeResultJson(meta.task_id, { children: meta.children ?? [] }),
        task_name: meta.name ?? null,
        task_args: meta.args == null ? null : JSON.stringify(argsRepr(meta.args)),
        task_kwargs: meta.kwargs == null ? null : JSON.stringify(saferepr(meta.kwargs)),
        worker: meta.worker ?? null,
        content_type: 'application/json',
        content_encoding: 'utf-8',
        date_done: datetime(now),
      };
      const update = () =>
        db
          .updateTable(TABLE)
          .set(row)
          .where('task_id', '=', meta.task_id)
          .where('status', '<>', States.SUCCESS)
          .executeTakeFirst();
      await writeUnlessSuccess(update, () =>
        db
          .insertInto(TABLE)
          .values({ ...row, task_id: meta.task_id, periodic_task_name: null, date_created: datetime(now) })
          .execute(),
      );
    },

    async read(db, taskId) {
      const row = await db.selectFrom(TABLE).selectAll().where('task_id', '=', taskId).executeTakeFirst();
      return row ? toMeta(row) : undefined;
    },

    async readReady(db, taskIds) {
      const rows = await db
        .selectFrom(TABLE)
        .selectAll()
        .where('task_id', 'in', taskIds)
        .where('status', 'in', [...READY_STATES])
        .execute();
      return rows.map(toMeta);
    },

    async delete(db, taskId) {
      await db.deleteFrom(TABLE).where('task_id', '=', taskId).execute();
    },

    async deleteExpired(db, now, resultExpiresMs) {
      if (resultExpiresMs === null) return 0;
      const result = await db
        .deleteFrom(TABLE)
        .where('date_done', '<', datetime(now - resultExpiresMs))
        .executeTakeFirst();
      return Number(result.numDeletedRows);
    },
  };
}

function toMeta(row: DjangoTaskResultTable): ResultMeta {
  const meta = parseJsonColumn(row.meta) as { children?: unknown[] } | null;
  const done =
    row.date_done instanceof Date
      ? row.date_done.getTime()
      : Date.parse(`${String(row.date_done).replace(' ', 'T')}Z`);
  return {
    task_id: row.task_id,
    status: row.status,
    result: parseJsonColumn(row.result),
    traceback: row.traceback,
    children: meta?.children ?? [],
    date_done: READY_STATES.has(row.status) && !Number.isNaN(done) ? naiveIso(done) : null,
    name: row.task_name,
    worker: row.worker,
  };
}
