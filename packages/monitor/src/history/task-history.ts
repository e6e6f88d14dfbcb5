import type { Kysely } from 'kysely';
import type { TaskPage, TaskQuery } from '../state/task-query.ts';
import type { TaskRecord } from '../state/task-state.ts';
import {
  checkHistoryUrl,
  openHistoryDatabase,
  type HistoryConnection,
  type HistoryDatabase,
  type TaskHistoryTable,
} from './history-database.ts';
import { queryHistory, SEARCH_WINDOW } from './history-query.ts';
import { ensureHistorySchema } from './history-schema.ts';

export { HistoryConfigError, sqlitePath } from './history-database.ts';

export interface TaskHistoryOptions {
  /** `sqlite:///path.db`, `sqlite://:memory:`, a plain file path or `postgresql://…`. (Default: `sqlite://celeriac-monitor.db`) */
  url?: string;
  /** PostgreSQL schema to keep the table in. (Default: the connection's search path) */
  schema?: string;
  /** Writes are gathered and flushed at this interval, in one transaction. (Default: 1000 ms) */
  flushIntervalMs?: number;
  /** Flush at once when this many tasks are waiting. (Default: 1000) */
  flushBatchSize?: number;
  /** Tasks older than this are deleted. (Default: 7 days) */
  retentionMs?: number;
  /** A substring search reads at most this many rows per page. (Default: 100 000) */
  searchWindow?: number;
  /** Keep at most this many tasks, newest first. (Default: 1 000 000) */
  maxRows?: number;
  /**
   * Tasks waiting to be written while the database is slow or down; past this the oldest waiting
   * versions are dropped (counted in `counts.dropped`, reported through `onError`), so memory stays
   * bounded. Their newest state is still in the monitor's memory. (Default: 100 000)
   */
  maxPending?: number;
  /** Called when a background flush fails; the batch is kept and retried. (Default: ignore) */
  onError?: (error: unknown) => void;
}

/**
 * Task history in SQL (SQLite or PostgreSQL via Kysely): the monitor's `ClusterState` marks tasks dirty and this
 * store writes them in batches (an upsert per task, one transaction per flush), so a busy cluster
 * costs one write per task per second at most. On start the newest tasks are loaded back, so a
 * restart loses nothing the last flush saw. Retention deletes by age and by count.
 */
export class TaskHistory {
  readonly flushIntervalMs: number;
  readonly flushBatchSize: number;
  readonly retentionMs: number;
  readonly maxRows: number;
  readonly maxPending: number;
  readonly searchWindow: number;
  readonly counts = { written: 0, flushes: 0, failures: 0, pruned: 0, dropped: 0 };
  private readonly url: string;
  private readonly schema: string | undefined;
  private conn: HistoryConnection | undefined;
  private readonly dirty = new Map<string, TaskRecord>();
  private timer: NodeJS.Timeout | undefined;
  private flushing: Promise<void> = Promise.resolve();
  private flushQueued = false;
  private lastPruneMs = 0;
  private closed = false;
  private readonly onError: (error: unknown) => void;

  constructor(options: TaskHistoryOptions = {}) {
    this.onError = options.onError ?? (() => undefined);
    this.flushIntervalMs = options.flushIntervalMs ?? 1000;
    this.flushBatchSize = options.flushBatchSize ?? 1000;
    this.retentionMs = options.retentionMs ?? 7 * 24 * 3600 * 1000;
    this.maxRows = options.maxRows ?? 1_000_000;
    this.maxPending = options.maxPending ?? 100_000;
    this.searchWindow = options.searchWindow ?? SEARCH_WINDOW;
    this.url = options.url ?? 'sqlite://celeriac-monitor.db';
    this.schema = options.schema;
    checkHistoryUrl(this.url);
  }

  /** The open connection, shared with the worker table (worker-history.ts). */
  get connection(): HistoryConnection | undefined {
    return this.conn;
  }

  private get db(): Kysely<HistoryDatabase> {
    if (!this.conn) throw new Error('TaskHistory: call open() first');
    return this.conn.db;
  }

  /** Connects, creates the table and indexes if missing, starts the flush timer. */
  async open(): Promise<void> {
    if (this.conn) return;
    const conn = await openHistoryDatabase(this.url, this.schema);
    try {
      await ensureHistorySchema(conn);
    } catch (error) {
      await conn.db.destroy().catch(() => undefined);
      throw error;
    }
    this.conn = conn;
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

  /** One page of the task list (keyset pagination; see history-query.ts). */
  query(query: TaskQuery): Promise<TaskPage> {
    if (!this.conn) return Promise.reject(new Error('TaskHistory: call open() first'));
    return queryHistory(this.conn, query, this.searchWindow);
  }

  /** One task as last written, for tasks memory no longer holds. */
  async get(uuid: string): Promise<TaskRecord | undefined> {
    const pending = this.dirty.get(uuid);
    if (pending) return pending;
    const row = await this.db
      .selectFrom('celeriac_monitor_task')
      .select('data')
      .where('uuid', '=', uuid)
      .executeTakeFirst();
    if (!row) return undefined;
    try {
      return JSON.parse(row.data) as TaskRecord;
    } catch {
      return undefined;
    }
  }

  /** Marks a task to be written at the next flush. */
  save(task: TaskRecord): void {
    if (this.closed) return;
    // Re-inserting keeps the map in first-dirtied order, so the cap drops the stalest entry.
    this.dirty.delete(task.uuid);
    this.dirty.set(task.uuid, task);
    if (this.dirty.size > this.maxPending) this.dropOldestPending();
    if (this.dirty.size >= this.flushBatchSize && !this.flushQueued) {
      this.flushQueued = true;
      this.flush()
        .catch(this.onError)
        .finally(() => (this.flushQueued = false));
    }
  }

  private dropOldestPending(): void {
    const first = this.counts.dropped === 0;
    while (this.dirty.size > this.maxPending) {
      const oldest = this.dirty.keys().next().value;
      if (oldest === undefined) break;
      this.dirty.delete(oldest);
      this.counts.dropped++;
    }
    if (first || this.counts.dropped % 10_000 === 0)
      this.onError(
        new Error(
          `monitor history: ${this.maxPending} task versions waiting to be written; dropped the oldest (${this.counts.dropped} so far)`,
        ),
      );
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

  /**
   * Deletes tasks past the retention age and beyond `maxRows`; returns how many went. Deletes go in
   * chunks, so a large backlog never holds the database (or SQLite's event loop) for long.
   */
  async prune(nowMs: number = Date.now()): Promise<number> {
    const cutoff = (nowMs - this.retentionMs) / 1000;
    let pruned = await this.deleteInChunks(cutoff, '<');
    const keepFrom = await this.db
      .selectFrom('celeriac_monitor_task')
      .select('timestamp')
      .orderBy('timestamp', 'desc')
      .offset(this.maxRows)
      .limit(1)
      .executeTakeFirst();
    if (keepFrom) pruned += await this.deleteInChunks(keepFrom.timestamp, '<=');
    this.counts.pruned += pruned;
    return pruned;
  }

  private async deleteInChunks(timestamp: number, op: '<' | '<='): Promise<number> {
    let total = 0;
    for (;;) {
      const result = await this.db
        .deleteFrom('celeriac_monitor_task')
        .where('uuid', 'in', (eb) =>
          eb
            .selectFrom('celeriac_monitor_task')
            .select('uuid')
            .where('timestamp', op, timestamp)
            .limit(DELETE_CHUNK),
        )
        .executeTakeFirst();
      const n = Number(result.numDeletedRows);
      total += n;
      if (n < DELETE_CHUNK) return total;
      await new Promise((resolve) => setImmediate(resolve));
    }
  }

  /** Flushes what is pending and closes the database. */
  async close(): Promise<void> {
    if (this.closed) return;
    clearInterval(this.timer);
    await this.flush();
    this.closed = true;
    await this.conn?.db.destroy();
    this.conn = undefined;
  }

  private async writePending(): Promise<void> {
    if (this.closed || !this.conn || this.dirty.size === 0) return this.maybePrune();
    const batch = [...this.dirty.values()];
    this.dirty.clear();
    try {
      await this.db.transaction().execute(async (trx) => {
        // Multi-row upserts: one statement per 500 tasks (8 parameters each stays far below
        // SQLite's 32 766 and PostgreSQL's 65 535), about ten times faster than a statement per task.
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
                search_text: eb.ref('excluded.search_text'),
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
      if (this.dirty.size > this.maxPending) this.dropOldestPending();
      throw error;
    }
    await this.maybePrune();
  }

  private async maybePrune(): Promise<void> {
    if (this.closed || !this.conn || Date.now() - this.lastPruneMs < 60_000) return;
    this.lastPruneMs = Date.now();
    await this.prune();
  }
}

const UPSERT_CHUNK = 500;
const DELETE_CHUNK = 5_000;
/** Each part of the search text is clipped: a search reads many rows, and nobody searches the 10th kilobyte. */
const SEARCH_PART = 1_000;

function toRow(task: TaskRecord): TaskHistoryTable {
  const search = [task.name, task.args, task.kwargs]
    .filter((p): p is string => typeof p === 'string' && p !== '')
    .map((p) => p.slice(0, SEARCH_PART))
    .join('\n')
    .toLowerCase();
  return {
    uuid: task.uuid,
    name: task.name,
    state: task.state,
    worker: task.worker,
    timestamp: task.timestamp,
    // The list's "received" is received, else sent, else first seen (task-query.ts does the same).
    received: task.received ?? task.sent ?? task.timestamp,
    search_text: search || null,
    data: JSON.stringify(task),
  };
}
