import { Migrator, sql, type Kysely } from 'kysely';
import type { BackendCapabilities, ResultBackend, StoreContext } from '../backend.ts';
import type { BackendOptions } from '../create-backend.ts';
import { BackendClosedError } from '../errors.ts';
import { ResultWaiters } from '../waiters.ts';
import { pendingMeta, type ResultMeta } from '../../result/meta.ts';
import { redactUrl } from '../../util/ids.ts';
import { celeriacResultTable } from './celeriac-result-table.ts';
import { djangoResultTable } from './django-result-table.ts';
import { openSqlConnection, type SqlConnection } from './sql-connection.ts';
import { NOTIFY_CHANNEL, PgListener } from './sql-listener.ts';
import { CELERIAC_CHORD_TABLE, DJANGO_CHORD_TABLE, SqlChordCounter } from './sql-chord.ts';
import type { ResultTableAdapter, SqlResultDatabase } from './sql-tables.ts';
import {
  celeriacListing,
  djangoListing,
  type ResultFilter,
  type ResultListing,
  type ResultPage,
  type StoredResult,
} from './sql-result-listing.ts';

export type { ResultFilter, ResultPage, ResultTotal, StoredResult } from './sql-result-listing.ts';
export { ResultCursorError } from './sql-result-listing.ts';

export interface ListResultsOptions extends ResultFilter {
  /** Rows to return, newest first. (Default: 50, at most 1000) */
  limit?: number;
  /** Rows to skip; prefer `cursor` (`listPage`), which stays fast at any depth. */
  offset?: number;
}

export interface ListPageOptions extends ResultFilter {
  /** (Default: 50, at most 1000) */
  limit?: number;
  /** `next` of the previous page; none for the newest rows. */
  cursor?: string;
  /** Counting stops here; past it the total is the table estimate or "at least". (Default: 10 000) */
  countCap?: number;
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
  private listing: ResultListing | undefined;
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
    this.listing =
      this.table === celeriacResultTable
        ? celeriacListing(connection.dialect)
        : djangoListing(connection.dialect);
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
   * Stored results, newest first (our table and django-celery-results'), for pages that show task
   * history. `listPage` is the one to page with; this is `listPage` with an offset and no total.
   */
  async list(options: ListResultsOptions = {}): Promise<StoredResult[]> {
    const limit = checkLimit(options.limit ?? 50, 'list');
    const offset = options.offset ?? 0;
    if (!Number.isInteger(offset) || offset < 0)
      throw new RangeError(`list(): offset must be >= 0, got ${offset}`);
    const page = await this.lister.page(this.db, options, limit, { offset }, Date.now());
    return page.results;
  }

  /**
   * One page of stored results, newest first, with keyset pagination (`next` → `cursor`) that costs
   * the same at any depth, and a total that never counts the whole table: exact up to `countCap`,
   * then the database's estimate (PostgreSQL, MySQL) when nothing is filtered, else "at least".
   */
  async listPage(options: ListPageOptions = {}): Promise<ResultPage> {
    const limit = checkLimit(options.limit ?? 50, 'listPage');
    const cap = options.countCap ?? 10_000;
    if (!Number.isInteger(cap) || cap < 1)
      throw new RangeError(`listPage(): countCap must be >= 1, got ${cap}`);
    const now = Date.now();
    const position = options.cursor === undefined ? {} : { cursor: options.cursor };
    const [page, counted] = await Promise.all([
      this.lister.page(this.db, options, limit, position, now),
      this.lister.cappedCount(this.db, options, cap, now),
    ]);
    if (counted < cap) return { ...page, total: { count: counted, kind: 'exact' } };
    const unfiltered =
      options.name === undefined &&
      options.states === undefined &&
      !options.search &&
      options.createdFromMs === undefined &&
      options.createdToMs === undefined;
    const estimate = unfiltered ? await this.lister.estimate(this.db) : undefined;
    return {
      ...page,
      total:
        estimate !== undefined && estimate > cap
          ? { count: estimate, kind: 'estimate' }
          : { count: cap, kind: 'at-least' },
    };
  }

  /** One stored result with its row times; undefined when there is none (or it expired). */
  getStored(taskId: string): Promise<StoredResult | undefined> {
    return this.lister.find(this.db, taskId, Date.now());
  }

  /** Deletes one stored result; false when there was none. */
  deleteResult(taskId: string): Promise<boolean> {
    return this.lister.remove(this.db, taskId);
  }

  /** The database's plan for the first page of `listPage(filter)`, to check that it uses an index. */
  explainListPage(filter: ResultFilter = {}, limit = 50): Promise<string[]> {
    return this.lister.explain(this.db, filter, checkLimit(limit, 'explainListPage'));
  }

  private get lister(): ResultListing {
    if (!this.listing) throw new Error(`SQL result backend ${this.safeUrl} is not connected`);
    return this.listing;
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

function checkLimit(limit: number, method: string): number {
  if (!Number.isInteger(limit) || limit < 1 || limit > 1000)
    throw new RangeError(`${method}(): limit must be 1..1000, got ${limit}`);
  return limit;
}
