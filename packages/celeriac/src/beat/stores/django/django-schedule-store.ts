import { silentLogger, type Logger } from '../../../util/logger.ts';
import { resolveEntry, type BeatEntryDefinition, type EntryState, type ScheduleInput } from '../../entry.ts';
import { connectSql, type SqlConnection } from '../sql/sql-connect.ts';
import type { BeatDb } from '../sql/sql-schema.ts';
import { SqlLease } from '../sql/sql-lease.ts';
import { createBeatTables, tableNames } from '../sql/sql-schema.ts';
import type { Kysely, Selectable } from 'kysely';
import type { ScheduleStore, StoredEntry } from '../store.ts';
import { fromDbTime, PERIOD_MS, toDbTime, type DjangoBeatDb } from './django-tables.ts';
import { deleteTask, writeEnabled, writeTask } from './django-writes.ts';

export interface DjangoScheduleStoreOptions {
  /** The Django project's database: `postgresql://…`, `mysql://…`, `sqlite:///path/db.sqlite3`. */
  url: string;
  /** (Default: 5 s, django-celery-beat's `DEFAULT_MAX_INTERVAL`) */
  reloadEveryMs?: number;
  /** The app's zone (interval and solar rows have none; crontab rows name theirs). (Default: UTC) */
  timezone?: string;
  logger?: Logger;
}

type TaskRow = Selectable<DjangoBeatDb['django_celery_beat_periodictask']>;

/**
 * Reads and writes django-celery-beat 2.4's tables, so a Django admin edits what a Celeriac
 * beat sends (django_celery_beat/schedulers.py `DatabaseScheduler`). It re-reads every row
 * every 5 s instead of watching `django_celery_beat_periodictasks.last_update`, so bulk
 * `QuerySet.update()` edits, which skip that tracker, are seen too. As a scheduler it writes
 * back only `last_run_at`, `total_run_count` and, for one-off tasks, `enabled`, as the Python one.
 * `upsert`, `remove` and `setEnabled` (the monitor's Periodic tasks page) write as Django's admin
 * does (see django-writes.ts), so a Python shop and the monitor edit the same schedule.
 * Messages carry the `periodic_task_name` header, as django-celery-beat's do.
 */
export class DjangoScheduleStore implements ScheduleStore {
  readonly description: string;
  readonly reloadEveryMs: number;
  private connection: Promise<SqlConnection<DjangoBeatDb>> | undefined;
  private readonly logger: Logger;
  private readonly badRows = new Map<string, string>();

  constructor(private readonly options: DjangoScheduleStoreOptions) {
    this.reloadEveryMs = options.reloadEveryMs ?? 5000;
    this.logger = options.logger ?? silentLogger;
    this.description = `django:${options.url.replace(/^([a-z0-9+.-]+:\/\/[^:/@]*:)[^@]*@/i, '$1**@')}`;
  }

  connect(): Promise<SqlConnection<DjangoBeatDb>> {
    this.connection ??= connectSql<DjangoBeatDb>(this.options.url);
    this.connection.catch(() => (this.connection = undefined));
    return this.connection;
  }

  /**
   * A lease for several beats on this database. Django's tables have no room for it, so it
   * lives in beat's own `celeriac_beat_lease` and `celeriac_beat_sent`, created beside them.
   */
  lease(options: { leaseMs?: number; name?: string } = {}): SqlLease {
    const tables = tableNames('celeriac_beat');
    let ready: Promise<SqlConnection<BeatDb>> | undefined;
    const connect = () => {
      ready ??= (async () => {
        const conn = (await this.connect()) as unknown as SqlConnection<BeatDb>;
        await createBeatTables(conn.db as Kysely<unknown>, tables, conn.dialect);
        return conn;
      })();
      ready.catch(() => (ready = undefined));
      return ready;
    };
    return new SqlLease({ connect, tables, ...options });
  }

  async load(): Promise<StoredEntry[]> {
    const { db } = await this.connect();
    const [tasks, intervals, crontabs, solars, clockeds] = await Promise.all([
      db.selectFrom('django_celery_beat_periodictask').selectAll().execute(),
      db.selectFrom('django_celery_beat_intervalschedule').selectAll().execute(),
      db.selectFrom('django_celery_beat_crontabschedule').selectAll().execute(),
      db.selectFrom('django_celery_beat_solarschedule').selectAll().execute(),
      db.selectFrom('django_celery_beat_clockedschedule').selectAll().execute(),
    ]);
    const byId = <T extends { id: number }>(rows: T[]) => new Map(rows.map((r) => [Number(r.id), r]));
    const schedules = {
      intervals: byId(intervals),
      crontabs: byId(crontabs),
      solars: byId(solars),
      clockeds: byId(clockeds),
    };
    const out: StoredEntry[] = [];
    for (const row of tasks) {
      try {
        const def = toDefinition(row, scheduleOf(row, schedules));
        out.push({ entry: resolveEntry(row.name, def, this.options.timezone), state: toState(row) });
        this.badRows.delete(row.name);
      } catch (err) {
        const why = (err as Error).message;
        if (this.badRows.get(row.name) !== why) {
          this.badRows.set(row.name, why);
          this.logger.error(
            { entry: row.name, err },
            'beat: skipping a django-celery-beat task that cannot be used',
          );
        }
      }
    }
    return out;
  }

  async saveState(name: string, state: EntryState): Promise<void> {
    const { db, dialect } = await this.connect();
    await db
      .updateTable('django_celery_beat_periodictask')
      .set({
        total_run_count: state.totalRunCount,
        ...(state.lastRunAtMs === undefined ? {} : { last_run_at: toDbTime(state.lastRunAtMs, dialect) }),
        ...(state.enabled === false ? { enabled: dialect === 'postgres' ? false : 0 } : {}),
      })
      .where('name', '=', name)
      .execute();
  }

  /**
   * Adds or replaces the task `name` (its run count is kept), pointing it at an equal schedule row
   * or a new one. Throws `BeatEntryError` for what the definition or Django's columns cannot hold.
   */
  async upsert(name: string, def: BeatEntryDefinition): Promise<void> {
    const entry = resolveEntry(name, def, this.options.timezone); // reject bad input before it is stored
    const { db, dialect } = await this.connect();
    await db.transaction().execute((tx) => writeTask(tx, dialect, entry));
  }

  async remove(name: string): Promise<void> {
    const { db, dialect } = await this.connect();
    await db.transaction().execute((tx) => deleteTask(tx, dialect, name));
  }

  async setEnabled(name: string, enabled: boolean): Promise<void> {
    const { db, dialect } = await this.connect();
    await db.transaction().execute((tx) => writeEnabled(tx, dialect, name, enabled));
  }

  async close(): Promise<void> {
    const conn = this.connection;
    this.connection = undefined;
    await (await conn?.catch(() => undefined))?.db.destroy();
  }
}

interface ScheduleTables {
  intervals: Map<number, Selectable<DjangoBeatDb['django_celery_beat_intervalschedule']>>;
  crontabs: Map<number, Selectable<DjangoBeatDb['django_celery_beat_crontabschedule']>>;
  solars: Map<number, Selectable<DjangoBeatDb['django_celery_beat_solarschedule']>>;
  clockeds: Map<number, Selectable<DjangoBeatDb['django_celery_beat_clockedschedule']>>;
}

/** The one schedule a PeriodicTask points at (django-celery-beat requires exactly one). */
function scheduleOf(row: TaskRow, t: ScheduleTables): ScheduleInput {
  const missing = (kind: string, id: number) => new Error(`its ${kind} schedule ${id} does not exist`);
  if (row.interval_id !== null) {
    const s = t.intervals.get(Number(row.interval_id));
    if (!s) throw missing('interval', row.interval_id);
    const unit = PERIOD_MS[s.period];
    if (unit === undefined)
      throw new Error(
        `interval period ${JSON.stringify(s.period)} is not one of ${Object.keys(PERIOD_MS).join(', ')}`,
      );
    return { every: Number(s.every) * unit };
  }
  if (row.crontab_id !== null) {
    const s = t.crontabs.get(Number(row.crontab_id));
    if (!s) throw missing('crontab', row.crontab_id);
    return {
      crontab: {
        minute: s.minute,
        hour: s.hour,
        dayOfWeek: s.day_of_week,
        dayOfMonth: s.day_of_month,
        monthOfYear: s.month_of_year,
        timezone: s.timezone || undefined,
      },
    };
  }
  if (row.solar_id !== null) {
    const s = t.solars.get(Number(row.solar_id));
    if (!s) throw missing('solar', row.solar_id);
    return { solar: s.event as never, latitude: Number(s.latitude), longitude: Number(s.longitude) };
  }
  if (row.clocked_id !== null) {
    const s = t.clockeds.get(Number(row.clocked_id));
    if (!s) throw missing('clocked', row.clocked_id);
    return { clocked: fromDbTime(s.clocked_time)! };
  }
  throw new Error('it has no interval, crontab, solar or clocked schedule');
}

function toDefinition(row: TaskRow, schedule: ScheduleInput): BeatEntryDefinition {
  const json = (text: string, column: string, empty: string): unknown => {
    try {
      return JSON.parse(text || empty);
    } catch (cause) {
      throw new Error(`column ${column} is not JSON: ${JSON.stringify(text)}`, { cause });
    }
  };
  const expires = fromDbTime(row.expires);
  const startTime = fromDbTime(row.start_time);
  return {
    task: row.task,
    schedule,
    args: json(row.args, 'args', '[]') as unknown[],
    kwargs: json(row.kwargs, 'kwargs', '{}') as Record<string, unknown>,
    queue: row.queue || undefined,
    exchange: row.exchange || undefined,
    routingKey: row.routing_key || undefined,
    priority: row.priority ?? undefined,
    headers: {
      ...(json(row.headers, 'headers', '{}') as Record<string, unknown>),
      periodic_task_name: row.name,
    },
    oneOff: Boolean(row.one_off),
    enabled: Boolean(row.enabled),
    startTime: startTime === undefined ? undefined : new Date(startTime),
    expires: expires !== undefined ? new Date(expires) : (row.expire_seconds ?? undefined),
  };
}

function toState(row: TaskRow): EntryState {
  return { lastRunAtMs: fromDbTime(row.last_run_at), totalRunCount: Number(row.total_run_count) };
}
