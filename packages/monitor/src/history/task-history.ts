import Database from 'better-sqlite3';
import { Kysely, SqliteDialect, sql } from 'kysely';
import type { TaskRecord } from '../state/task-state.ts';

/** The history table: the columns the monitor filters on, plus the whole record as JSON. */
interface TaskHistoryTable {
  uuid: string;
  name: string | null;
  state: string;
  worker: string | null;
  /** Epoch seconds of the last state change. */
  timestamp: number;
  received: number | null;
  data: string;
}

interface HistoryDatabase {
  celeriac_monitor_task: TaskHistoryTable;
}

export interface TaskHistoryOptions {
  /** `sqlite:///path.db`, `sqlite://:memory:` or a plain file path. (Default: `sqlite://celeriac-monitor.db`) */
  url?: string;
  /** Writes are gathered and flushed at this interval, in one transaction. (Default: 1000 ms) */
  flushIntervalMs?: number;
  /** Flush at once when this many tasks are waiting. (Default: 1000) */
  flushBatchSize?: number;
  /** Tasks older than this are deleted. (Default: 7 days) */
  retentionMs?: number;
  /** Keep at most this many tasks, newest first. (Default: 1 000 000) */
  maxRows?: number;
  /** Called when a background flush fails; the batch is kept and retried. (Default: ignore) */
  onError?: (error: unknown) => void;
}

export class HistoryConfigError extends Error {
  readonly code = 'MONITOR_HISTORY_CONFIG';
}

/**
 * Task history in SQL (SQLite via Kysely): the monitor's `ClusterState` marks tasks dirty and this
 * store writes them in batches (an upsert per task, one transaction per flush), so a busy cluster
 * costs one write per task per second at most. On start the newest tasks are loaded back, so a
 * restart loses nothing the last flush saw. Retention deletes by age and by count.
 */
export class TaskHistory {
  readonly flushIntervalMs: number;
  readonly flushBatchSize: number;
  readonly retentionMs: number;
  readonly maxRows: number;
  readonly counts = { written: 0, flushes: 0, failures: 0, pruned: 0 };
  private readonly db: Kysely<HistoryDatabase>;
  private readonly dirty = new Map<string, TaskRecord>();
  private timer: NodeJS.Timeout | undefined;
  private flushing: Promise<void> = Promise.resolve();
  private lastPruneMs = 0;
  private closed = false;
  private readonly onError: (error: unknown) => void;

  constructor(options: TaskHistoryOptions = {}) {
    this.onError = options.onError ?? (() => undefined);
    this.flushIntervalMs = options.flushIntervalMs ?? 1000;
    this.flushBatchSize = options.flushBatchSize ?? 1000;
    this.retentionMs = options.retentionMs ?? 7 * 24 * 3600 * 1000;
    this.maxRows = options.maxRows ?? 1_000_000;
    this.db = new Kysely<HistoryDatabase>({
      dialect: new SqliteDialect({
        database: new Database(sqlitePath(options.url ?? 'sqlite://celeriac-monitor.db')),
      }),
    });
  }

  /** Creates the table and indexes if missing. */
  async open(): Promise<void> {
    await sql`PRAGMA journal_mode = WAL`.execute(this.db).catch(() => undefined);
    await this.db.schema
      .createTable('celeriac_monitor_task')
      .ifNotExists()
      .addColumn('uuid', 'varchar(255)', (c) => c.primaryKey())
      .addColumn('name', 'varchar(255)')
      .addColumn('state', 'varchar(50)', (c) => c.notNull())
      .addColumn('worker', 'varchar(255)')
      .addColumn('timestamp', 'double precision', (c) => c.notNull())
      .addColumn('received', 'double precision')
      .addColumn('data', 'text', (c) => c.notNull())
      .execute();
    await this.db.schema
      .createIndex('celeriac_monitor_task_timestamp')
      .ifNotExists()
      .on('celeriac_monitor_task')
      .column('timestamp')
      .execute();
    this.timer = setInterval(() => this.flush().catch(this.onError), this.flushIntervalMs);
    this.timer.unref();
  }

  /** The newest `limit` tasks, oldest first (so inserting them in order rebuilds the LRU). */
  async load(limit: number): Promise<TaskRecord[]> {
    const rows = await this.db
      .selectFrom('celeriac_monitor_task')
      .select('data')
      .orderBy('timestamp', 'desc')
      .limit(limit)
      .execute();
    const tasks: TaskRecord[] = [];
    for (const row of rows.reverse()) {
      try {
        tasks.push(JSON.parse(row.data) as TaskRecord);
      } catch {
        // A row that no longer parses is skipped, not fatal; retention removes it eventually.
      }
    }
    return tasks;
  }

  /** Marks a task to be written at the next flush. */
  save(task: TaskRecord): void {
    if (this.closed) return;
    this.dirty.set(task.uuid, task);
    if (this.dirty.size >= this.flushBatchSize) this.flush().catch(this.onError);
  }

  get pending(): number {
    return this.dirty.size;
  }

  /** Writes what is pending; flushes run one at a time. Failed batches are retried next time. */
  flush(): Promise<void> {
    const next = this.flushing.catch(() => undefined).then(() => this.writePending());
    this.flushing = next;
    return next;
  }

  /** Total rows stored. */
  async count(): Promise<number> {
    const row = await this.db
      .selectFrom('celeriac_monitor_task')
      .select((eb) => eb.fn.countAll<number>().as('n'))
      .executeTakeFirst();
    return Number(row?.n ?? 0);
  }

  /** Deletes tasks past the retention age and beyond `maxRows`; returns how many went. */
  async prune(nowMs: number = Date.now()): Promise<number> {
    const cutoff = (nowMs - this.retentionMs) / 1000;
    const byAge = await this.db
      .deleteFrom('celeriac_monitor_task')
      .where('timestamp', '<', cutoff)
      .executeTakeFirst();
    let pruned = Number(byAge.numDeletedRows);
    const keepFrom = await this.db
      .selectFrom('celeriac_monitor_task')
      .select('timestamp')
      .orderBy('timestamp', 'desc')
      .offset(this.maxRows)
      .limit(1)
      .executeTakeFirst();
    if (keepFrom) {
      const byCount = await this.db
        .deleteFrom('celeriac_monitor_task')
        .where('timestamp', '<=', keepFrom.timestamp)
        .executeTakeFirst();
      pruned += Number(byCount.numDeletedRows);
    }
    this.counts.pruned += pruned;
    return pruned;
  }

  /** Flushes what is pending and closes the database. */
  async close(): Promise<void> {
    if (this.closed) return;
    clearInterval(this.timer);
    await this.flush();
    this.closed = true;
    await this.db.destroy();
  }

  private async writePending(): Promise<void> {
    if (this.closed || this.dirty.size === 0) return this.maybePrune();
    const batch = [...this.dirty.values()];
    this.dirty.clear();
    try {
      await this.db.transaction().execute(async (trx) => {
        // Multi-row upserts: one statement per 500 tasks (7 parameters each stays far below
        // SQLite's 32 766), about ten times faster than a statement per task.
        for (let i = 0; i < batch.length; i += UPSERT_CHUNK) {
          // better-sqlite3 is synchronous: let HTTP and events run between chunks.
          if (i > 0) await new Promise((resolve) => setImmediate(resolve));
          const rows = batch.slice(i, i + UPSERT_CHUNK).map(toRow);
          await trx
            .insertInto('celeriac_monitor_task')
            .values(rows)
            .onConflict((oc) =>
              oc.column('uuid').doUpdateSet((eb) => ({
                name: eb.ref('excluded.name'),
                state: eb.ref('excluded.state'),
                worker: eb.ref('excluded.worker'),
                timestamp: eb.ref('excluded.timestamp'),
                received: eb.ref('excluded.received'),
                data: eb.ref('excluded.data'),
              })),
            )
            .execute();
        }
      });
      this.counts.written += batch.length;
      this.counts.flushes++;
    } catch (error) {
      this.counts.failures++;
      // Put the batch back unless a newer version of the task arrived meanwhile.
      for (const task of batch) if (!this.dirty.has(task.uuid)) this.dirty.set(task.uuid, task);
      throw error;
    }
    await this.maybePrune();
  }

  private async maybePrune(): Promise<void> {
    if (this.closed || Date.now() - this.lastPruneMs < 60_000) return;
    this.lastPruneMs = Date.now();
    await this.prune();
  }
}

const UPSERT_CHUNK = 500;

function toRow(task: TaskRecord): TaskHistoryTable {
  return {
    uuid: task.uuid,
    name: task.name,
    state: task.state,
    worker: task.worker,
    timestamp: task.timestamp,
    received: task.received,
    data: JSON.stringify(task),
  };
}

/** `sqlite:///abs/path.db` (Celery/SQLAlchemy style), `sqlite://rel.db`, `sqlite://:memory:` or a path. */
export function sqlitePath(url: string): string {
  if (!url.includes('://')) return url;
  const match = /^sqlite:\/\/(.*)$/.exec(url);
  if (!match) {
    throw new HistoryConfigError(
      `monitor history: only SQLite is supported so far (sqlite:///path.db), got ${url.replace(/\/\/[^@/]*@/, '//***@')}`,
    );
  }
  const path = match[1] ?? '';
  return path === '' ? ':memory:' : path;
}
