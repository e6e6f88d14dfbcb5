import { Migrator, sql, type Kysely } from 'kysely';
import type { BackendCapabilities, ResultBackend, StoreContext } from '../backend.ts';
import type { BackendOptions } from '../create-backend.ts';
import { BackendClosedError } from '../errors.ts';
import { ResultWaiters } from '../waiters.ts';
import { pendingMeta, type ResultMeta } from '../../result/meta.ts';
import { redactUrl } from '../../util/ids.ts';
import { celeriacResultTable, resultRowToMeta } from './celeriac-result-table.ts';
import { djangoResultTable } from './django-result-table.ts';
import { openSqlConnection, type SqlConnection } from './sql-connection.ts';
import { NOTIFY_CHANNEL, PgListener } from './sql-listener.ts';
import { RESULT_TABLE } from './sql-schema.ts';
import { CELERIAC_CHORD_TABLE, DJANGO_CHORD_TABLE, SqlChordCounter } from './sql-chord.ts';
import type { ResultTableAdapter, SqlResultDatabase } from './sql-tables.ts';

/** One row of `list()`: the stored meta plus when the row was first and last written. */
export interface StoredResult extends ResultMeta {
  created_at_ms: number;
  updated_at_ms: number;
}

export interface ListResultsOptions {
  /** Rows to return, newest first. (Default: 50, at most 1000) */
  limit?: number;
  offset?: number;
  /** Only this task name (e.g. `tasks.add`). */
  name?: string;
  /** Only these states. */
  states?: readonly string[];
}

const POLL_MIN_MS = 25;
const POLL_MAX_MS = 1000;
const RETENTION_EVERY_MS = 10 * 60_000;

/**
 * Results in PostgreSQL, MySQL/MariaDB or SQLite. Our own table (`celeriac_task_result`) by
 * default, created on first connect (`celeriac migrate` does it ahead of time); with
 * `?celeriac_tables=django`, django-celery-results 2.4's table, so a Django admin shows the results.
 * Waiters wake on LISTEN/NOTIFY on PostgreSQL and by polling with back-off elsewhere. Expired rows
 * are deleted every 10 minutes. `?celeriac_migrate=false` skips the automatic migration.
 */
export class SqlBackend implements ResultBackend {
  readonly name = 'sql';
  readonly safeUrl: string;
  readonly capabilities: BackendCapabilities = Object.freeze({ persistent: true, clientBound: false });
  private connection: SqlConnection<SqlResultDatabase> | undefined;
  private table: ResultTableAdapter = celeriacResultTable;
  private readonly waiters = new ResultWaiters();
  private listener: PgListener | undefined;
  private pollTimer: NodeJS.Timeout | undefined;
  private pollDelay = POLL_MIN_MS;
  private retentionTimer: NodeJS.Timeout | undefined;
  /** Chord counters in SQL (django's ChordCounter layout); see sql-chord.ts and chord-backend.ts. */
  readonly chords = new SqlChordCounter(
    () => ({
      db: this.db as unknown as Kysely<never>,
      dialect: this.connection!.dialect,
      table: this.table === celeriacResultTable ? CELERIAC_CHORD_TABLE : DJANGO_CHORD_TABLE,
    }),
    (taskId) => this.get(taskId),
  );

  constructor(
    private readonly url: string,
    private readonly options: BackendOptions,
  ) {
    this.safeUrl = redactUrl(url);
  }

  private get db(): Kysely<SqlResultDatabase> {
    if (!this.connection) throw new Error(`SQL result backend ${this.safeUrl} is not connected`);
    return this.connection.db;
  }

  async connect(): Promise<void> {
    if (this.connection) return;
    const connection = await openSqlConnection<SqlResultDatabase>(this.url);
    this.connection = connection;
    this.table = /[?&]celeriac_tables=django\b/.test(this.url)
      ? djangoResultTable(connection.dialect)
      : celeriacResultTable;
    try {
      if (!/[?&]celeriac_migrate=false\b/.test(this.url)) await this.migrate();
      if (connection.dialect === 'postgres') {
        this.listener = new PgListener(
          connection.driverUrl,
          this.options.logger,
          (taskId) => this.wake(taskId),
          () => void this.recheckAll(),
        );
        await this.listener.start();
      }
    } catch (error) {
      await this.close();
      throw new Error(`SQL result backend ${this.safeUrl}: ${(error as Error).message}`, { cause: error });
    }
    this.retentionTimer = setInterval(
      () => void this.deleteExpired().catch(() => undefined),
      RETENTION_EVERY_MS,
    );
    this.retentionTimer.unref();
  }

  /** Creates or upgrades our table (a no-op for Django's, which `manage.py migrate` owns). */
  async migrate(): Promise<string[]> {
    const connection = this.connection;
    if (!connection) throw new Error('connect() first');
    const provider = this.table.migrations(connection.dialect);
    if (!provider) return [];
    const migrator = new Migrator({
      db: connection.db,
      provider,
      migrationTableName: 'celeriac_migration',
      migrationLockTableName: 'celeriac_migration_lock',
    });
    const { error, results } = await migrator.migrateToLatest();
    if (error)
      throw new Error(`migrating ${this.safeUrl} failed: ${(error as Error).message}`, { cause: error });
    return (results ?? []).filter((r) => r.status === 'Success').map((r) => r.migrationName);
  }

  async close(): Promise<void> {
    if (this.pollTimer) clearTimeout(this.pollTimer);
    if (this.retentionTimer) clearInterval(this.retentionTimer);
    this.waiters.cancelAll(new BackendClosedError('sql'));
    await this.listener?.close();
    this.listener = undefined;
    const connection = this.connection;
    this.connection = undefined;
    await connection?.db.destroy();
  }

  async store(meta: ResultMeta, context: StoreContext): Promise<void> {
    const now = Date.now();
    const expiresSeconds =
      context.expiresSeconds !== undefined
        ? context.expiresSeconds
        : this.options.resultExpiresMs === null
          ? null
          : this.options.resultExpiresMs / 1000;
    await this.table.write(this.db, meta, {
      now,
      expiresAtMs: expiresSeconds == null ? null : now + expiresSeconds * 1000,
    });
    if (this.connection?.dialect === 'postgres') {
      await sql`select pg_notify(${NOTIFY_CHANNEL}, ${meta.task_id})`.execute(this.db);
    } else {
      this.wake(meta.task_id); // same-process waiters need not wait for the next poll
    }
  }

  async get(taskId: string): Promise<ResultMeta> {
    return (await this.table.read(this.db, taskId, Date.now())) ?? pendingMeta(taskId);
  }

  waitReady(taskId: string, options: { timeoutMs?: number; signal?: AbortSignal }): Promise<ResultMeta> {
    const waiting = this.waiters.wait(taskId, options, () => this.get(taskId));
    if (this.connection?.dialect !== 'postgres') this.schedulePoll(true);
    return waiting;
  }

  async forget(taskId: string): Promise<void> {
    await this.table.delete(this.db, taskId);
  }

  /**
   * Stored results, newest first, for pages that show task history (the example site's Tasks page).
   * Our table only: django-celery-results' table is Django admin's to list.
   */
  async list(options: ListResultsOptions = {}): Promise<StoredResult[]> {
    if (this.table !== celeriacResultTable) {
      throw new Error(
        `list() reads the ${RESULT_TABLE} table; ${this.safeUrl} uses django-celery-results' table`,
      );
    }
    const limit = options.limit ?? 50;
    const offset = options.offset ?? 0;
    if (!Number.isInteger(limit) || limit < 1 || limit > 1000)
      throw new RangeError(`list(): limit must be 1..1000, got ${limit}`);
    if (!Number.isInteger(offset) || offset < 0)
      throw new RangeError(`list(): offset must be >= 0, got ${offset}`);
    let query = this.db.selectFrom(RESULT_TABLE).selectAll();
    if (options.name !== undefined) query = query.where('name', '=', options.name);
    if (options.states !== undefined) {
      if (options.states.length === 0) return [];
      query = query.where('status', 'in', [...options.states]);
    }
    const now = Date.now();
    query = query.where((eb) => eb.or([eb('expires_at_ms', 'is', null), eb('expires_at_ms', '>', now)]));
    const rows = await query
      .orderBy('created_at_ms', 'desc')
      .orderBy('id', 'desc')
      .limit(limit)
      .offset(offset)
      .execute();
    return rows.map((row) => ({
      ...resultRowToMeta(row),
      created_at_ms: Number(row.created_at_ms),
      updated_at_ms: Number(row.updated_at_ms),
    }));
  }

  /** Deletes rows past their expiry; returns how many. */
  deleteExpired(now = Date.now()): Promise<number> {
    return this.table.deleteExpired(this.db, now, this.options.resultExpiresMs);
  }

  private wake(taskId: string): void {
    if (!this.waiters.has(taskId)) return;
    this.get(taskId).then(
      (meta) => this.waiters.notify(meta),
      (error: Error) =>
        this.options.logger.warn(
          { err: error.message, taskId },
          'result backend: reading a notified result failed',
        ),
    );
  }

  /** One query for every waiting id (after a LISTEN reconnect, and on each poll). */
  private async recheckAll(): Promise<void> {
    const ids = [...this.waiters.ids()];
    if (ids.length === 0 || !this.connection) return;
    for (const meta of await this.table.readReady(this.db, ids)) this.waiters.notify(meta);
  }

  /** Polls with back-off while anyone waits (databases without LISTEN); a new waiter resets it. */
  private schedulePoll(reset = false): void {
    if (reset) this.pollDelay = POLL_MIN_MS;
    if (this.pollTimer && !reset) return;
    if (this.pollTimer) clearTimeout(this.pollTimer);
    this.pollTimer = setTimeout(() => {
      this.pollTimer = undefined;
      this.recheckAll().then(
        () => this.afterPoll(),
        (error: Error) => {
          this.options.logger.warn(
            { err: error.message },
            'result backend: polling for results failed; retrying',
          );
          this.afterPoll();
        },
      );
    }, this.pollDelay);
  }

  private afterPoll(): void {
    if (this.waiters.size === 0 || !this.connection) return;
    this.pollDelay = Math.min(POLL_MAX_MS, this.pollDelay * 2);
    this.schedulePoll();
  }
}
