import type { Kysely } from 'kysely';
import { silentLogger, type Logger } from '../../../util/logger.ts';
import { resolveEntry, type BeatEntryDefinition, type EntryState } from '../../entry.ts';
import type { ScheduleStore, StoredEntry } from '../store.ts';
import { connectSql, type SqlConnection } from './sql-connect.ts';
import {
  createBeatTables,
  ms,
  tableNames,
  type BeatDb,
  type BeatTables,
  type EntryRow,
} from './sql-schema.ts';
import { SqlLease } from './sql-lease.ts';

export interface SqlScheduleStoreOptions {
  /** `postgresql://…`, `mysql://…`, `sqlite:///path.db`. */
  url: string;
  /** Table name prefix. (Default: `celeriac_beat`) */
  tablePrefix?: string;
  /** How often beat re-reads the entries, picking up edits. (Default: 5 s, as django-celery-beat) */
  reloadEveryMs?: number;
  /** Zone for crontab entries that name none. (Default: UTC) */
  timezone?: string;
  /** Where bad rows are reported (they are skipped, the rest still run). */
  logger?: Logger;
}

/**
 * Entries and their run state in beat's own SQL tables (PostgreSQL, MySQL/MariaDB, SQLite),
 * editable while beat runs: `upsert`, `remove`, `setEnabled`, or plain SQL on `<prefix>_entry`.
 */
export class SqlScheduleStore implements ScheduleStore {
  readonly description: string;
  readonly reloadEveryMs: number;
  readonly tables: BeatTables;
  private connection: Promise<SqlConnection<BeatDb>> | undefined;
  private readonly logger: Logger;
  private readonly badRows = new Map<string, string>();

  constructor(private readonly options: SqlScheduleStoreOptions) {
    this.tables = tableNames(options.tablePrefix ?? 'celeriac_beat');
    this.reloadEveryMs = options.reloadEveryMs ?? 5000;
    this.logger = options.logger ?? silentLogger;
    this.description = `db:${options.url.replace(/^([a-z0-9+.-]+:\/\/[^:/@]*:)[^@]*@/i, '$1**@')}`;
  }

  /** Connects once and creates the tables if missing; a failure is retried on the next call. */
  async connect(): Promise<SqlConnection<BeatDb>> {
    this.connection ??= (async () => {
      const conn = await connectSql<BeatDb>(this.options.url);
      try {
        await createBeatTables(conn.db as Kysely<unknown>, this.tables, conn.dialect);
      } catch (err) {
        await conn.db.destroy().catch(() => undefined);
        throw err;
      }
      return conn;
    })();
    this.connection.catch(() => (this.connection = undefined));
    return this.connection;
  }

  /** A lease on the same database (a row in `<prefix>_lease`). */
  lease(options: { leaseMs?: number; name?: string } = {}): SqlLease {
    return new SqlLease({ connect: () => this.connect(), tables: this.tables, ...options });
  }

  async load(): Promise<StoredEntry[]> {
    const { db } = await this.connect();
    const rows = await db
      .selectFrom(this.tables.entry as 'beat_entry')
      .selectAll()
      .execute();
    const out: StoredEntry[] = [];
    for (const row of rows) {
      try {
        out.push({
          entry: resolveEntry(row.name, rowToDefinition(row), this.options.timezone),
          state: rowToState(row),
        });
        this.badRows.delete(row.name);
      } catch (err) {
        // One bad row must not stop every other entry; say so once per distinct problem.
        const why = (err as Error).message;
        if (this.badRows.get(row.name) !== why) {
          this.badRows.set(row.name, why);
          this.logger.error(
            { entry: row.name, err },
            'beat: skipping an entry the store holds that cannot be used',
          );
        }
      }
    }
    return out;
  }

  async saveState(name: string, state: EntryState): Promise<void> {
    const { db } = await this.connect();
    await db
      .updateTable(this.tables.entry as 'beat_entry')
      .set({
        last_run_at: state.lastRunAtMs ?? null,
        last_slot: state.lastSlotMs ?? null,
        total_run_count: state.totalRunCount,
        ...(state.enabled === false ? { enabled: 0 } : {}),
      })
      .where('name', '=', name)
      .execute();
  }

  /** Adds or replaces an entry (run state is kept when the name exists); beat picks it up on its next reload. */
  async upsert(name: string, def: BeatEntryDefinition): Promise<void> {
    const entry = resolveEntry(name, def, this.options.timezone); // reject bad input before it is stored
    const { db } = await this.connect();
    const values = {
      task: entry.task,
      schedule: JSON.stringify(entry.schedule.toJSON()),
      args: JSON.stringify(entry.args),
      kwargs: JSON.stringify(entry.kwargs),
      options: JSON.stringify(entry.options),
      one_off: entry.oneOff ? 1 : 0,
      enabled: entry.enabled ? 1 : 0,
      start_time: entry.startTimeMs ?? null,
      expires_at: entry.expiresAtMs ?? null,
      expire_seconds: entry.expireSeconds ?? null,
      updated_at: Date.now(),
    };
    await db.transaction().execute(async (tx) => {
      const updated = await tx
        .updateTable(this.tables.entry as 'beat_entry')
        .set(values)
        .where('name', '=', name)
        .executeTakeFirst();
      if (Number(updated.numUpdatedRows) === 0) {
        await tx
          .insertInto(this.tables.entry as 'beat_entry')
          .values({ name, ...values, total_run_count: 0, last_run_at: null, last_slot: null })
          .execute();
      }
    });
  }

  async remove(name: string): Promise<void> {
    const { db } = await this.connect();
    await db
      .deleteFrom(this.tables.entry as 'beat_entry')
      .where('name', '=', name)
      .execute();
  }

  async setEnabled(name: string, enabled: boolean): Promise<void> {
    const { db } = await this.connect();
    await db
      .updateTable(this.tables.entry as 'beat_entry')
      .set({ enabled: enabled ? 1 : 0, updated_at: Date.now() })
      .where('name', '=', name)
      .execute();
  }

  async close(): Promise<void> {
    const conn = this.connection;
    this.connection = undefined;
    await (await conn?.catch(() => undefined))?.db.destroy();
  }
}

function rowToDefinition(row: EntryRow): BeatEntryDefinition {
  const parse = <T>(text: string, what: string): T => {
    try {
      return JSON.parse(text) as T;
    } catch (cause) {
      throw new Error(`column ${what} is not JSON: ${JSON.stringify(text)}`, { cause });
    }
  };
  const options = parse<Partial<BeatEntryDefinition>>(row.options || '{}', 'options');
  const expiresAt = ms(row.expires_at);
  const startTime = ms(row.start_time);
  return {
    task: row.task,
    schedule: parse(row.schedule, 'schedule'),
    args: parse(row.args || '[]', 'args'),
    kwargs: parse(row.kwargs || '{}', 'kwargs'),
    queue: options.queue,
    exchange: options.exchange,
    routingKey: options.routingKey,
    priority: options.priority,
    headers: options.headers,
    oneOff: Boolean(Number(row.one_off)),
    enabled: Boolean(Number(row.enabled)),
    startTime: startTime === undefined ? undefined : new Date(startTime),
    expires: expiresAt !== undefined ? new Date(expiresAt) : (row.expire_seconds ?? undefined),
  };
}

function rowToState(row: EntryRow): EntryState {
  return {
    lastRunAtMs: ms(row.last_run_at),
    lastSlotMs: ms(row.last_slot),
    totalRunCount: Number(row.total_run_count),
  };
}
