import { sql } from 'kysely';
import type { HistoryConnection } from './history-database.ts';

export const HISTORY_TABLE = 'celeriac_monitor_task';

/**
 * Indexes for the list's keyset pages: each filter column leads, then the sort key and the uuid
 * as tie-breaker, so "newest 100 FAILURE tasks after this cursor" is one index range scan.
 */
export const HISTORY_INDEXES: ReadonlyArray<readonly [string, readonly string[]]> = [
  ['timestamp', ['timestamp', 'uuid']],
  ['received', ['received', 'uuid']],
  ['state', ['state', 'timestamp', 'uuid']],
  ['name', ['name', 'timestamp', 'uuid']],
  ['worker', ['worker', 'timestamp', 'uuid']],
];

/** Creates the table and its indexes if missing; adds columns older versions lacked. */
export async function ensureHistorySchema({ db, dialect }: HistoryConnection): Promise<void> {
  await db.schema
    .createTable(HISTORY_TABLE)
    .ifNotExists()
    // "C" collation in PostgreSQL: byte order, so an id prefix is an index range (a locale
    // collation ignores dashes and would not give one).
    .addColumn('uuid', 'varchar(255)', (c) =>
      (dialect === 'postgres' ? c.modifyFront(sql`collate "C"`) : c).primaryKey(),
    )
    .addColumn('name', 'varchar(255)')
    .addColumn('state', 'varchar(50)', (c) => c.notNull())
    .addColumn('worker', 'varchar(255)')
    .addColumn('timestamp', 'double precision', (c) => c.notNull())
    .addColumn('received', 'double precision')
    .addColumn('search_text', 'text')
    .addColumn('data', 'text', (c) => c.notNull())
    .execute();
  // The first history (foundation) had no search column; rows it wrote are found by id and filters.
  const hasSearch = await db
    .selectFrom(HISTORY_TABLE)
    .select('search_text')
    .limit(1)
    .execute()
    .then(
      () => true,
      () => false,
    );
  if (!hasSearch) await db.schema.alterTable(HISTORY_TABLE).addColumn('search_text', 'text').execute();
  for (const [suffix, cols] of HISTORY_INDEXES) {
    // The foundation's single-column timestamp index kept its name; a second one is harmless.
    await db.schema
      .createIndex(`${HISTORY_TABLE}_${suffix}_k`)
      .ifNotExists()
      .on(HISTORY_TABLE)
      .columns([...cols])
      .execute();
  }
}
