import { sql, type ColumnDefinitionBuilder, type Kysely } from 'kysely';
import type { SqlDialectName } from './sql-connect.ts';

/**
 * Beat's own tables (prefix `celeriac_beat` by default). Times are epoch milliseconds in
 * BIGINT columns, the same in every database; JSON is kept in TEXT.
 *
 * - `<prefix>_entry`: one row per periodic task, editable while beat runs (beat reloads it every 5 s).
 *   `schedule` holds any schedule form beat accepts in config: `{"every":"5s"}`,
 *   `{"crontab":"0 4 * * mon"}`, `{"solar":"sunset","latitude":52.5,"longitude":13.4}`, `{"clocked":"2030-01-01T09:00:00Z"}`.
 * - `<prefix>_lease`: the leadership row (`SqlLease`).
 * - `<prefix>_sent`: the fencing record, one row per entry: the last slot sent and when.
 */
export interface EntryRow {
  name: string;
  task: string;
  schedule: string;
  args: string;
  kwargs: string;
  /** JSON: queue, exchange, routingKey, priority, headers. */
  options: string;
  one_off: number;
  enabled: number;
  start_time: number | string | null;
  /** Entry stops after this time (ms). */
  expires_at: number | string | null;
  /** Each message expires this many seconds after it is sent. */
  expire_seconds: number | null;
  last_run_at: number | string | null;
  last_slot: number | string | null;
  total_run_count: number;
  updated_at: number | string;
}

export interface LeaseRow {
  name: string;
  holder: string;
  expires_at: number | string;
}

export interface SentRow {
  entry: string;
  last_slot: number | string;
  last_sent_at: number | string;
}

export interface BeatTables {
  entry: string;
  lease: string;
  sent: string;
}

export const tableNames = (prefix: string): BeatTables => ({
  entry: `${prefix}_entry`,
  lease: `${prefix}_lease`,
  sent: `${prefix}_sent`,
});

/** Creates beat's tables when missing (safe to run from every beat at start). */
export async function createBeatTables(
  db: Kysely<unknown>,
  tables: BeatTables,
  dialect: SqlDialectName,
): Promise<void> {
  // MySQL cannot default a TEXT column; beat always writes them anyway.
  const json = (empty: string) => (c: ColumnDefinitionBuilder) =>
    dialect === 'mysql' ? c.notNull() : c.notNull().defaultTo(sql.lit(empty));
  await db.schema
    .createTable(tables.entry)
    .ifNotExists()
    .addColumn('name', 'varchar(200)', (c) => c.primaryKey())
    .addColumn('task', 'varchar(200)', (c) => c.notNull())
    .addColumn('schedule', 'text', (c) => c.notNull())
    .addColumn('args', 'text', json('[]'))
    .addColumn('kwargs', 'text', json('{}'))
    .addColumn('options', 'text', json('{}'))
    .addColumn('one_off', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('enabled', 'integer', (c) => c.notNull().defaultTo(1))
    .addColumn('start_time', 'bigint')
    .addColumn('expires_at', 'bigint')
    .addColumn('expire_seconds', 'double precision')
    .addColumn('last_run_at', 'bigint')
    .addColumn('last_slot', 'bigint')
    .addColumn('total_run_count', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('updated_at', 'bigint', (c) => c.notNull().defaultTo(0))
    .execute();
  await db.schema
    .createTable(tables.lease)
    .ifNotExists()
    .addColumn('name', 'varchar(200)', (c) => c.primaryKey())
    .addColumn('holder', 'varchar(200)', (c) => c.notNull())
    .addColumn('expires_at', 'bigint', (c) => c.notNull())
    .execute();
  await db.schema
    .createTable(tables.sent)
    .ifNotExists()
    .addColumn('entry', 'varchar(200)', (c) => c.primaryKey())
    .addColumn('last_slot', 'bigint', (c) => c.notNull())
    .addColumn('last_sent_at', 'bigint', (c) => c.notNull())
    .execute();
}

/** Drops beat's tables (tests, uninstall). */
export async function dropBeatTables(db: Kysely<unknown>, tables: BeatTables): Promise<void> {
  for (const t of [tables.entry, tables.lease, tables.sent])
    await db.schema.dropTable(t).ifExists().execute();
}

/** BIGINT columns arrive as strings from pg: one place turns them into numbers. */
export const ms = (v: number | string | null | undefined): number | undefined =>
  v === null || v === undefined ? undefined : Number(v);

/** The shape Kysely sees; real table names carry the configured prefix (see `tableNames`). */
export interface BeatDb {
  beat_entry: EntryRow;
  beat_lease: LeaseRow;
  beat_sent: SentRow;
}
