import { Kysely, MysqlDialect, PostgresDialect, SqliteDialect } from 'kysely';
import { redactUrl } from '../../util/ids.ts';

export type SqlDialectName = 'postgres' | 'mysql' | 'sqlite';

/** A Kysely instance for a database URL, with what the backend needs to know about it. */
export interface SqlConnection<DB> {
  db: Kysely<DB>;
  dialect: SqlDialectName;
  safeUrl: string;
  /** The URL as the driver takes it (query options the backend reads are removed). */
  driverUrl: string;
}

/**
 * Opens a pool for `postgresql://`, `mysql://` or `sqlite:///path.db` (`sqlite://:memory:` for tests).
 * Drivers are imported only for the scheme in use.
 */
export async function openSqlConnection<DB>(url: string): Promise<SqlConnection<DB>> {
  const scheme = url.slice(0, url.indexOf(':')).toLowerCase();
  const driverUrl = stripCeleriacParams(url);
  const safeUrl = redactUrl(url);
  if (scheme === 'postgres' || scheme === 'postgresql') {
    const pg = await import('pg');
    // BIGINT columns hold epoch ms: read them as numbers, not strings.
    pg.default.types.setTypeParser(20, (value: string) => Number(value));
    const pool = new pg.default.Pool({ connectionString: driverUrl, max: 10 });
    // A lost connection emits 'error' on its client, idle or checked out; without a listener Node
    // would crash the process. The query in flight fails and the caller (the worker) retries.
    pool.on('error', () => undefined);
    pool.on('connect', (client) => client.on('error', () => undefined));
    return {
      db: new Kysely<DB>({ dialect: new PostgresDialect({ pool }) }),
      dialect: 'postgres',
      safeUrl,
      driverUrl,
    };
  }
  if (scheme === 'mysql' || scheme === 'mariadb') {
    const mysql = await import('mysql2');
    const pool = mysql.createPool({
      uri: driverUrl.replace(/^mariadb:/, 'mysql:'),
      connectionLimit: 10,
      supportBigNumbers: true,
      bigNumberStrings: false,
    });
    return {
      db: new Kysely<DB>({ dialect: new MysqlDialect({ pool }) }),
      dialect: 'mysql',
      safeUrl,
      driverUrl,
    };
  }
  if (scheme === 'sqlite') {
    const { default: Database } = await import('better-sqlite3');
    const path = sqlitePath(driverUrl);
    const database = new Database(path);
    database.pragma('journal_mode = WAL');
    database.pragma('busy_timeout = 5000');
    return {
      db: new Kysely<DB>({ dialect: new SqliteDialect({ database }) }),
      dialect: 'sqlite',
      safeUrl,
      driverUrl,
    };
  }
  throw new TypeError(`not an SQL URL: ${safeUrl} (use postgresql://, mysql:// or sqlite:///path.db)`);
}

/** `sqlite:///abs/path.db` → `/abs/path.db`, `sqlite://rel.db` → `rel.db`, `sqlite://:memory:`. */
function sqlitePath(url: string): string {
  const rest = url.replace(/^sqlite:\/\//i, '');
  return rest === '' ? ':memory:' : rest;
}

function stripCeleriacParams(url: string): string {
  const [base, query] = url.split('?', 2);
  if (!query) return url;
  const kept = query.split('&').filter((pair) => !pair.startsWith('celeriac_'));
  return kept.length ? `${base}?${kept.join('&')}` : base!;
}

/** Whether an error is the database's unique-key violation, whichever database it is. */
export function isUniqueViolation(error: unknown): boolean {
  const e = error as { code?: unknown; errno?: unknown };
  return (
    e?.code === '23505' ||
    e?.code === 'ER_DUP_ENTRY' ||
    e?.errno === 1062 ||
    e?.code === 'SQLITE_CONSTRAINT_UNIQUE'
  );
}
