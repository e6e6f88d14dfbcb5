import type { Kysely } from 'kysely';
import { encodeResultJson } from '../result-json.ts';
import type { ResultMeta } from '../../result/meta.ts';
import { isReady, READY_STATES, States } from '../../result/states.ts';
import { RESULT_TABLE, resultMigrations, type TaskResultTable } from './sql-schema.ts';
import {
  naiveIso,
  parseJsonColumn,
  parseNaiveUtc,
  type ResultTableAdapter,
  type SqlResultDatabase,
  type WriteTimes,
  writeUnlessSuccess,
} from './sql-tables.ts';

/** Our own layout: one row per task with the columns the monitor filters on (sql-schema.ts). */
export const celeriacResultTable: ResultTableAdapter = {
  table: RESULT_TABLE,
  migrations: resultMigrations,

  async write(
    db: Kysely<SqlResultDatabase>,
    meta: ResultMeta,
    { now, expiresAtMs }: WriteTimes,
  ): Promise<void> {
    const json = (value: unknown) => (value == null ? null : encodeResultJson(meta.task_id, value));
    const row = {
      status: meta.status,
      result: encodeResultJson(meta.task_id, meta.result ?? null),
      children: meta.children?.length ? json(meta.children) : null,
      traceback: meta.traceback ?? null,
      name: meta.name ?? null,
      args: json(meta.args),
      kwargs: json(meta.kwargs),
      worker: meta.worker ?? null,
      queue: meta.queue ?? null,
      retries: meta.retries ?? null,
      parent_id: meta.parent_id ?? null,
      group_id: meta.group_id ?? null,
      updated_at_ms: now,
      done_at_ms: isReady(meta.status) ? (meta.date_done ? parseNaiveUtc(meta.date_done) : now) : null,
      expires_at_ms: expiresAtMs,
    };
    const update = () =>
      db
        .updateTable(RESULT_TABLE)
        .set(row)
        .where('task_id', '=', meta.task_id)
        .where('status', '<>', States.SUCCESS)
        .executeTakeFirst();
    await writeUnlessSuccess(update, () =>
      db
        .insertInto(RESULT_TABLE)
        .values({ ...row, task_id: meta.task_id, root_id: null, created_at_ms: now })
        .execute(),
    );
  },

  async read(db, taskId, now) {
    const row = await liveResultRow(db, taskId, now);
    return row && resultRowToMeta(row);
  },

  async readReady(db, taskIds) {
    const rows = await db
      .selectFrom(RESULT_TABLE)
      .selectAll()
      .where('task_id', 'in', taskIds)
      .where('status', 'in', [...READY_STATES])
      .execute();
    return rows.map(resultRowToMeta);
  },

  async delete(db, taskId) {
    await db.deleteFrom(RESULT_TABLE).where('task_id', '=', taskId).execute();
  },

  async deleteExpired(db, now) {
    const result = await db.deleteFrom(RESULT_TABLE).where('expires_at_ms', '<=', now).executeTakeFirst();
    return Number(result.numDeletedRows);
  },
};

/** A row of our table as Celery's result meta. */
/** The task's row in our table, unless it has none or it expired by `now`. */
export async function liveResultRow(
  db: Kysely<SqlResultDatabase>,
  taskId: string,
  now: number,
): Promise<TaskResultTable | undefined> {
  const row = await db.selectFrom(RESULT_TABLE).selectAll().where('task_id', '=', taskId).executeTakeFirst();
  if (!row || (row.expires_at_ms !== null && Number(row.expires_at_ms) <= now)) return undefined;
  return row;
}

export function resultRowToMeta(row: TaskResultTable): ResultMeta {
  return {
    task_id: row.task_id,
    status: row.status,
    result: parseJsonColumn(row.result),
    traceback: row.traceback,
    children: (parseJsonColumn(row.children) as unknown[] | null) ?? [],
    date_done: row.done_at_ms === null ? null : naiveIso(Number(row.done_at_ms)),
    group_id: row.group_id,
    parent_id: row.parent_id,
    name: row.name,
    args: parseJsonColumn(row.args) as unknown[] | null,
    kwargs: parseJsonColumn(row.kwargs) as Record<string, unknown> | null,
    worker: row.worker,
    retries: row.retries,
    queue: row.queue,
  };
}
