import { sql, type Kysely, type Migration, type MigrationProvider } from 'kysely';
import type { SqlDialectName } from './sql-connection.ts';

/** The results table: one row per task, with the columns the monitor filters and sorts on. */
export interface TaskResultTable {
  id: number | undefined;
  task_id: string;
  status: string;
  name: string | null;
  /** JSON texts. */
  args: string | null;
  kwargs: string | null;
  result: string | null;
  children: string | null;
  traceback: string | null;
  worker: string | null;
  queue: string | null;
  retries: number | null;
  root_id: string | null;
  parent_id: string | null;
  group_id: string | null;
  /** Epoch milliseconds. */
  created_at_ms: number;
  updated_at_ms: number;
  done_at_ms: number | null;
  /** When retention may delete the row; null keeps it. */
  expires_at_ms: number | null;
}

export interface ResultDatabase {
  celeriac_task_result: TaskResultTable;
}

export const RESULT_TABLE = 'celeriac_task_result';

const LISTING_INDEXES: ReadonlyArray<readonly [string, string[]]> = [
  ['created_id', ['created_at_ms', 'id']],
  ['status_created_id', ['status', 'created_at_ms', 'id']],
  ['name_created_id', ['name', 'created_at_ms', 'id']],
];

/** Numbered migrations, in code (graphile-worker style); never edit one that has shipped. */
export function resultMigrations(dialect: SqlDialectName): MigrationProvider {
  const migrations: Record<string, Migration> = {
    '0001_task_result': {
      async up(db: Kysely<unknown>) {
        const id = dialect === 'postgres' ? 'bigserial' : 'integer';
        const idColumn = dialect === 'mysql' ? 'bigint' : id;
        await db.schema
          .createTable(RESULT_TABLE)
          .ifNotExists()
          .addColumn('id', idColumn as 'integer', (c) => {
            const primary = c.primaryKey();
            return dialect === 'postgres' ? primary : primary.autoIncrement();
          })
          .addColumn('task_id', 'varchar(255)', (c) => c.notNull().unique())
          .addColumn('status', 'varchar(50)', (c) => c.notNull())
          .addColumn('name', 'varchar(255)')
          .addColumn('args', 'text')
          .addColumn('kwargs', 'text')
          .addColumn('result', dialect === 'mysql' ? sql`longtext` : 'text')
          .addColumn('children', 'text')
          .addColumn('traceback', 'text')
          .addColumn('worker', 'varchar(255)')
          .addColumn('queue', 'varchar(255)')
          .addColumn('retries', 'integer')
          .addColumn('root_id', 'varchar(255)')
          .addColumn('parent_id', 'varchar(255)')
          .addColumn('group_id', 'varchar(255)')
          .addColumn('created_at_ms', 'bigint', (c) => c.notNull())
          .addColumn('updated_at_ms', 'bigint', (c) => c.notNull())
          .addColumn('done_at_ms', 'bigint')
          .addColumn('expires_at_ms', 'bigint')
          .execute();
        for (const column of [
          'status',
          'name',
          'worker',
          'done_at_ms',
          'created_at_ms',
          'group_id',
          'root_id',
          'expires_at_ms',
        ]) {
          const index = db.schema
            .createIndex(`${RESULT_TABLE}_${column}_idx`)
            .on(RESULT_TABLE)
            .column(column);
          await (dialect === 'mysql' ? index : index.ifNotExists()).execute();
        }
      },
      async down(db: Kysely<unknown>) {
        await db.schema.dropTable(RESULT_TABLE).ifExists().execute();
      },
    },
    // Keyset pagination (sql-result-listing.ts) walks (created_at_ms, id) newest first, unfiltered or
    // within one state or task name, so a page reads `limit` index entries at any depth.
    '0002_listing_indexes': {
      async up(db: Kysely<unknown>) {
        for (const [suffix, columns] of LISTING_INDEXES) {
          const index = db.schema
            .createIndex(`${RESULT_TABLE}_${suffix}_idx`)
            .on(RESULT_TABLE)
            .columns(columns);
          await (dialect === 'mysql' ? index : index.ifNotExists()).execute();
        }
      },
      async down(db: Kysely<unknown>) {
        for (const [suffix] of LISTING_INDEXES) {
          const index = db.schema.dropIndex(`${RESULT_TABLE}_${suffix}_idx`);
          await (dialect === 'mysql' ? index.on(RESULT_TABLE) : index.ifExists()).execute();
        }
      },
    },
  };
  return { getMigrations: async () => migrations };
}
