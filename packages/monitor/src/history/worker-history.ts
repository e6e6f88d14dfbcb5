import type { Kysely } from 'kysely';
import type { WorkerRecord } from '../state/worker-state.ts';
import type { HistoryConnection, HistoryDatabase } from './history-database.ts';

export const WORKER_TABLE = 'celeriac_monitor_worker';

interface WorkerHistoryTable {
  hostname: string;
  /** Epoch seconds of the last event folded in. */
  updated: number;
  data: string;
}

type WorkerDatabase = HistoryDatabase & { celeriac_monitor_worker: WorkerHistoryTable };

/**
 * The workers the monitor has seen, next to the task history, so offline workers are still listed
 * after a restart (Flower keeps them only in memory) and a forgotten one stays forgotten until it
 * sends events again. Heartbeats arrive every 2 s per worker: records are marked dirty and
 * written together every `flushIntervalMs`, one row per worker.
 */
export class WorkerHistory {
  private readonly dirty = new Map<string, WorkerRecord>();
  private timer: NodeJS.Timeout | undefined;
  private flushing: Promise<void> = Promise.resolve();
  private lastPruneMs = 0;

  constructor(
    private readonly connection: () => HistoryConnection | undefined,
    private readonly options: {
      flushIntervalMs?: number;
      /** Workers not heard from for this long are deleted, as old tasks are. (Default: 7 days) */
      retentionMs?: number;
      onError?: (error: unknown) => void;
    } = {},
  ) {}

  private get db(): Kysely<WorkerDatabase> {
    const conn = this.connection();
    if (!conn) throw new Error('WorkerHistory: the task history is not open');
    return conn.db.withTables<{ celeriac_monitor_worker: WorkerHistoryTable }>();
  }

  /** Creates the table if missing and starts the flush timer (after the task history opened). */
  async open(): Promise<void> {
    await this.db.schema
      .createTable(WORKER_TABLE)
      .ifNotExists()
      .addColumn('hostname', 'varchar(255)', (c) => c.primaryKey())
      .addColumn('updated', 'double precision', (c) => c.notNull())
      .addColumn('data', 'text', (c) => c.notNull())
      .execute();
    await this.prune();
    const every = this.options.flushIntervalMs ?? 5000;
    this.timer = setInterval(() => void this.flush().catch(this.options.onError ?? (() => undefined)), every);
    this.timer.unref();
  }

  /** Every stored worker (a row that no longer parses is skipped). */
  async load(): Promise<WorkerRecord[]> {
    const rows = await this.db.selectFrom(WORKER_TABLE).select('data').orderBy('updated', 'asc').execute();
    const workers: WorkerRecord[] = [];
    for (const row of rows) {
      try {
        const worker = JSON.parse(row.data) as WorkerRecord;
        if (typeof worker.hostname === 'string' && worker.hostname) workers.push(worker);
      } catch {
        // Skipped, not fatal: the worker's next event writes it again.
      }
    }
    return workers;
  }

  /** Deletes workers silent for longer than the retention (pods with generated names come and go). */
  async prune(nowMs: number = Date.now()): Promise<number> {
    this.lastPruneMs = nowMs;
    const cutoff = (nowMs - (this.options.retentionMs ?? 7 * 24 * 3600 * 1000)) / 1000;
    const result = await this.db.deleteFrom(WORKER_TABLE).where('updated', '<', cutoff).executeTakeFirst();
    return Number(result.numDeletedRows);
  }

  save(worker: WorkerRecord): void {
    this.dirty.set(worker.hostname, worker);
  }

  /** Deletes the worker's row (and any pending write of it). */
  async forget(hostname: string): Promise<void> {
    this.dirty.delete(hostname);
    await this.flushing.catch(() => undefined);
    await this.db.deleteFrom(WORKER_TABLE).where('hostname', '=', hostname).execute();
  }

  flush(): Promise<void> {
    const next = this.flushing.catch(() => undefined).then(() => this.writePending());
    this.flushing = next;
    return next;
  }

  async close(): Promise<void> {
    clearInterval(this.timer);
    await this.flush();
  }

  private async writePending(): Promise<void> {
    if (this.dirty.size === 0 || !this.connection()) return;
    const batch = [...this.dirty.values()];
    this.dirty.clear();
    try {
      await this.db
        .insertInto(WORKER_TABLE)
        .values(
          batch.map((w) => ({
            hostname: w.hostname,
            updated: w.lastHeartbeat ?? w.offlineAt ?? w.firstSeen,
            data: JSON.stringify(w),
          })),
        )
        .onConflict((oc) =>
          oc.column('hostname').doUpdateSet((eb) => ({
            updated: eb.ref('excluded.updated'),
            data: eb.ref('excluded.data'),
          })),
        )
        .execute();
    } catch (error) {
      for (const w of batch) if (!this.dirty.has(w.hostname)) this.dirty.set(w.hostname, w);
      throw error;
    }
    if (Date.now() - this.lastPruneMs > 3600_000) await this.prune();
  }
}
