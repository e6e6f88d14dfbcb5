import { Kysely, PostgresDialect, SqliteDialect } from 'kysely';

/** The history table: the columns the monitor filters and sorts on, plus the whole record as JSON. */
export interface TaskHistoryTable {
  uuid: string;
  name: string | null;
  state: string;
  worker: string | null;
  /** Epoch seconds of the last state change: the list's default order. */
  timestamp: number;
  /** Epoch seconds the task was received (else sent, else first seen): never null, so it can be a keyset. */
  received: number | null;
  /** Lower-cased name, args and kwargs (each clipped), what `search` scans. */
  search_text: string | null;
  data: string;
}

export interface HistoryDatabase {
  celeriac_monitor_task: TaskHistoryTable;
}

export type HistoryDialect = 'sqlite' | 'postgres';

export interface HistoryConnection {
  db: Kysely<HistoryDatabase>;
  dialect: HistoryDialect;
}

export class HistoryConfigError extends Error {
  readonly code = 'MONITOR_HISTORY_CONFIG';
}

/**
 * Opens the history database: SQLite (`sqlite:///path.db`, `sqlite://:memory:` or a plain path)
 * or PostgreSQL (`postgresql://…`, optionally in `schema`). Drivers load only for the scheme in use.
 */
export async function openHistoryDatabase(url: string, schema?: string): Promise<HistoryConnection> {
  const scheme = url.includes('://') ? url.slice(0, url.indexOf(':')).toLowerCase() : 'sqlite';
  if (scheme === 'postgres' || scheme === 'postgresql') {
    const pg = await import('pg');
    const pool = new pg.default.Pool({ connectionString: url, max: 4 });
    // A lost connection emits 'error' on idle clients; without a listener Node would exit. The
    // query in flight fails instead and the history retries its batch.
    pool.on('error', () => undefined);
    const db = new Kysely<HistoryDatabase>({ dialect: new PostgresDialect({ pool }) });
    return { db: schema ? db.withSchema(schema) : db, dialect: 'postgres' };
  }
  if (scheme !== 'sqlite') {
    throw new HistoryConfigError(
      `monitor history: use sqlite:///path.db or postgresql://…, got ${redact(url)}`,
    );
  }
  if (schema) throw new HistoryConfigError('monitor history: `schema` is for PostgreSQL only');
  const { default: Database } = await import('better-sqlite3');
  const database = new Database(sqlitePath(url));
  database.pragma('journal_mode = WAL');
  database.pragma('busy_timeout = 5000');
  // WAL with NORMAL sync is crash-safe (a power cut loses at most the last flush) and much faster.
  database.pragma('synchronous = NORMAL');
  return { db: new Kysely<HistoryDatabase>({ dialect: new SqliteDialect({ database }) }), dialect: 'sqlite' };
}

/** Throws `HistoryConfigError` now (at construction) for a URL `openHistoryDatabase` would refuse. */
export function checkHistoryUrl(url: string): void {
  if (!url.includes('://')) return;
  if (!/^(sqlite|postgres|postgresql):\/\//i.test(url)) {
    throw new HistoryConfigError(
      `monitor history: use sqlite:///path.db or postgresql://…, got ${redact(url)}`,
    );
  }
}

/** `sqlite:///abs/path.db` (Celery/SQLAlchemy style), `sqlite://rel.db`, `sqlite://:memory:` or a path. */
export function sqlitePath(url: string): string {
  if (!url.includes('://')) return url;
  const match = /^sqlite:\/\/(.*)$/i.exec(url);
  if (!match) throw new HistoryConfigError(`not an SQLite URL: ${redact(url)} (use sqlite:///path.db)`);
  const path = match[1] ?? '';
  return path === '' ? ':memory:' : path;
}

function redact(url: string): string {
  return url.replace(/\/\/[^@/]*@/, '//***@');
}
