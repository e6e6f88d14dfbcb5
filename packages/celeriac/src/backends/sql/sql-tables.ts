import type { Kysely, MigrationProvider } from 'kysely';
import type { ResultMeta } from '../../result/meta.ts';
import { isUniqueViolation, type SqlDialectName } from './sql-connection.ts';
import type { DjangoResultDatabase } from './django-result-table.ts';
import type { ResultDatabase } from './sql-schema.ts';

/** Every table a result table adapter may touch. */
export type SqlResultDatabase = ResultDatabase & DjangoResultDatabase;

/** When a write happens and until when the row may be kept. */
export interface WriteTimes {
  now: number;
  /** Epoch ms after which retention may delete the row; null keeps it. */
  expiresAtMs: number | null;
}

/**
 * One layout of results in SQL: ours (`celeriac_task_result`) or django-celery-results'. The backend
 * keeps connections, waiting and retention; the adapter maps rows.
 */
export interface ResultTableAdapter {
  readonly table: string;
  /** Our migrations; null when another tool owns the schema (Django's `migrate`). */
  migrations(dialect: SqlDialectName): MigrationProvider | null;
  /** Upserts a state; never overwrites SUCCESS. */
  write(db: Kysely<SqlResultDatabase>, meta: ResultMeta, times: WriteTimes): Promise<void>;
  read(db: Kysely<SqlResultDatabase>, taskId: string, now: number): Promise<ResultMeta | undefined>;
  /** Ready results among these ids. */
  readReady(db: Kysely<SqlResultDatabase>, taskIds: string[]): Promise<ResultMeta[]>;
  delete(db: Kysely<SqlResultDatabase>, taskId: string): Promise<void>;
  /** Deletes rows past retention; `resultExpiresMs` applies to layouts without an expiry column. */
  deleteExpired(db: Kysely<SqlResultDatabase>, now: number, resultExpiresMs: number | null): Promise<number>;
}

/** `date_done` as Celery writes it: naive UTC ISO with microseconds. */
export function naiveIso(ms: number): string {
  return new Date(ms).toISOString().replace('Z', '000');
}

/** Reads Celery's naive-UTC `date_done` (or any ISO string) as epoch ms. */
export function parseNaiveUtc(value: string): number {
  const ms = Date.parse(/(Z|[+-]\d\d:?\d\d)$/i.test(value) ? value : `${value}Z`);
  return Number.isNaN(ms) ? Date.now() : ms;
}

export function parseJsonColumn(text: string | null): unknown {
  return text === null || text === undefined ? null : JSON.parse(text);
}

/**
 * Writes a state without ever overwriting SUCCESS (Celery's key-value backends skip that write too):
 * update the row unless it is SUCCESS, else insert it; a unique violation on insert means the row
 * exists (SUCCESS already, or another writer just inserted it), so update once more.
 */
export async function writeUnlessSuccess(
  update: () => Promise<{ numUpdatedRows: bigint }>,
  insert: () => Promise<unknown>,
): Promise<void> {
  if (Number((await update()).numUpdatedRows) > 0) return;
  try {
    await insert();
  } catch (error) {
    if (!isUniqueViolation(error)) throw error;
    await update();
  }
}
