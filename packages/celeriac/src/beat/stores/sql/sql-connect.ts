import { Kysely, MysqlDialect, PostgresDialect, SqliteDialect } from 'kysely';

export type SqlDialectName = 'postgres' | 'mysql' | 'sqlite';

/** An open Kysely database for beat's tables, and how to close it. */
export interface SqlConnection<DB> {
  readonly db: Kysely<DB>;
  readonly dialect: SqlDialectName;
  /** URL without its password, for logs. */
  readonly safeUrl: string;
}

/** `postgresql://…`, `mysql://…` (MariaDB too), `sqlite:///absolute/path.db` or `sqlite://relative.db`. */
export async function connectSql<DB>(url: string): Promise<SqlConnection<DB>> {
  const safeUrl = url.replace(/^([a-z0-9+.-]+:\/\/[^:/@]*:)[^@]*@/i, '$1**@');
  const scheme = /^([a-z0-9+]+):/i.exec(url)?.[1]?.toLowerCase();
  if (scheme === 'postgres' || scheme === 'postgresql') {
    const { default: pg } = await import('pg');
    // Big integers (epoch ms) come back as strings from pg; beat converts them where it reads.
    const pool = new pg.Pool({ connectionString: url, max: 2, connectionTimeoutMillis: 5000 });
    pool.on('error', () => undefined); // an idle client's error is reported by the next query
    return { db: new Kysely<DB>({ dialect: new PostgresDialect({ pool }) }), dialect: 'postgres', safeUrl };
  }
  if (scheme === 'mysql' || scheme === 'mariadb') {
    const mysql = await import('mysql2');
    // DATETIME columns (django-celery-beat's) hold UTC: read and write them as UTC, whatever the host's zone.
    const pool = mysql.createPool({
      uri: url.replace(/^mariadb:/, 'mysql:'),
      connectionLimit: 2,
      connectTimeout: 5000,
      timezone: 'Z',
    });
    return { db: new Kysely<DB>({ dialect: new MysqlDialect({ pool }) }), dialect: 'mysql', safeUrl };
  }
  if (scheme === 'sqlite') {
    const { default: Database } = await import('better-sqlite3');
    const path = url.replace(/^sqlite:\/\//i, '') || ':memory:';
    const database = new Database(path);
    // Several beats may share one file: wait for each other's writes instead of failing at once.
    database.pragma('busy_timeout = 5000');
    database.pragma('journal_mode = WAL');
    return { db: new Kysely<DB>({ dialect: new SqliteDialect({ database }) }), dialect: 'sqlite', safeUrl };
  }
  throw new TypeError(
    `unsupported schedule database URL ${JSON.stringify(safeUrl)}: use postgresql://, mysql:// or sqlite:///path.db`,
  );
}
