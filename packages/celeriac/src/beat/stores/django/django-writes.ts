import type { Insertable, Kysely, Selectable, Transaction } from 'kysely';
import type { BeatEntry } from '../../entry.ts';
import { BeatEntryError } from '../../errors.ts';
import type { Schedule, ScheduleJson } from '../../schedules/schedule.ts';
import type { SqlDialectName } from '../sql/sql-connect.ts';
import { fromDbTime, PERIOD_MS, toDbTime, type DjangoBeatDb } from './django-tables.ts';

/**
 * Writes to django-celery-beat 2.4's tables as its admin's `PeriodicTask.save()` would
 * (django_celery_beat/models.py): one schedule row per task, reused when an equal one exists;
 * `last_run_at` cleared when the task is disabled; `django_celery_beat_periodictasks.last_update`
 * bumped, so Django's `DatabaseScheduler` reloads.
 */
type Db = Kysely<DjangoBeatDb> | Transaction<DjangoBeatDb>;
type TaskRow = Selectable<DjangoBeatDb['django_celery_beat_periodictask']>;
type ScheduleRef = Pick<TaskRow, 'interval_id' | 'crontab_id' | 'solar_id' | 'clocked_id'>;

/** CharField(max_length=200) of PeriodicTask: name, task, queue, exchange, routing_key. */
const MAX_CHARS = 200;

/** Inserts or updates the task row `name` (run count and description kept) and its schedule row. */
export async function writeTask(db: Db, dialect: SqlDialectName, entry: BeatEntry): Promise<void> {
  const values = { ...taskColumns(entry, dialect), ...(await scheduleRef(db, dialect, entry.schedule)) };
  const updated = await db
    .updateTable('django_celery_beat_periodictask')
    .set({ ...values, ...(entry.enabled ? {} : { last_run_at: null }) })
    .where('name', '=', entry.name)
    .executeTakeFirst();
  if (Number(updated.numUpdatedRows) === 0) {
    await db
      .insertInto('django_celery_beat_periodictask')
      .values({ name: entry.name, ...values, last_run_at: null, total_run_count: 0, description: '' })
      .execute();
  }
  await markChanged(db, dialect);
}

/** `enabled`, as the admin's "Enable/Disable selected tasks" then `save()` leave it. */
export async function writeEnabled(db: Db, dialect: SqlDialectName, name: string, enabled: boolean) {
  await db
    .updateTable('django_celery_beat_periodictask')
    .set({
      enabled: bool(enabled, dialect),
      date_changed: toDbTime(Date.now(), dialect),
      ...(enabled ? {} : { last_run_at: null }),
    })
    .where('name', '=', name)
    .execute();
  await markChanged(db, dialect);
}

/** Deletes the task; its schedule row stays, as the admin leaves it, for other tasks to pick. */
export async function deleteTask(db: Db, dialect: SqlDialectName, name: string): Promise<void> {
  await db.deleteFrom('django_celery_beat_periodictask').where('name', '=', name).execute();
  await markChanged(db, dialect);
}

/** `PeriodicTasks.update_changed()`: the one row (ident 1) whose `last_update` Django's beat watches. */
async function markChanged(db: Db, dialect: SqlDialectName): Promise<void> {
  const last_update = toDbTime(Date.now(), dialect);
  const updated = await db
    .updateTable('django_celery_beat_periodictasks')
    .set({ last_update })
    .where('ident', '=', 1)
    .executeTakeFirst();
  if (Number(updated.numUpdatedRows) === 0)
    await db.insertInto('django_celery_beat_periodictasks').values({ ident: 1, last_update }).execute();
}

function taskColumns(entry: BeatEntry, dialect: SqlDialectName) {
  const fail = (why: string): never => {
    throw new BeatEntryError(`beat entry ${JSON.stringify(entry.name)}: ${why}`);
  };
  const { queue, exchange, routingKey, priority, headers } = entry.options;
  for (const [column, text] of Object.entries({
    name: entry.name,
    task: entry.task,
    queue,
    exchange,
    routing_key: routingKey,
  })) {
    if (text !== undefined && text.length > MAX_CHARS)
      fail(`${column} is longer than django-celery-beat's ${MAX_CHARS} characters`);
  }
  if (priority !== undefined && !(Number.isInteger(priority) && priority >= 0 && priority <= 255))
    fail(`priority ${priority}: django-celery-beat takes a whole number from 0 to 255`);
  const expireSeconds = entry.expireSeconds;
  if (expireSeconds !== undefined && !Number.isInteger(expireSeconds))
    fail(`expires ${expireSeconds}: django-celery-beat's expire_seconds holds whole seconds`);
  // load() adds periodic_task_name to every entry's headers; the row keeps only the user's.
  const { periodic_task_name: _added, ...ownHeaders } = headers ?? {};
  const time = (ms: number | undefined) => (ms === undefined ? null : toDbTime(ms, dialect));
  return {
    task: entry.task,
    args: JSON.stringify(entry.args),
    kwargs: JSON.stringify(entry.kwargs),
    queue: queue || null,
    exchange: exchange || null,
    routing_key: routingKey || null,
    headers: JSON.stringify(ownHeaders),
    priority: priority ?? null,
    expires: time(entry.expiresAtMs),
    expire_seconds: expireSeconds ?? null,
    // validate_unique(): "clocked must be one off"; resolveEntry already makes it so.
    one_off: bool(entry.oneOff, dialect),
    start_time: time(entry.startTimeMs),
    enabled: bool(entry.enabled, dialect),
    date_changed: toDbTime(Date.now(), dialect),
  };
}

/** Exactly one of the four foreign keys set, to an equal existing row or a new one. */
async function scheduleRef(db: Db, dialect: SqlDialectName, schedule: Schedule): Promise<ScheduleRef> {
  const none: ScheduleRef = { interval_id: null, crontab_id: null, solar_id: null, clocked_id: null };
  const json = schedule.toJSON();
  switch (json.type) {
    case 'interval':
      return { ...none, interval_id: await intervalId(db, dialect, intervalRow(json.everyMs)) };
    case 'crontab':
      return { ...none, crontab_id: await crontabId(db, dialect, json) };
    case 'solar':
      return { ...none, solar_id: await solarId(db, dialect, json) };
    case 'clocked':
      return { ...none, clocked_id: await clockedId(db, dialect, Date.parse(json.at)) };
  }
}

/** The largest of Django's periods that holds the interval whole: 90 s is `90 seconds`, 2 h is `2 hours`. */
export function intervalRow(everyMs: number): { every: number; period: string } {
  for (const period of ['days', 'hours', 'minutes', 'seconds']) {
    const every = everyMs / PERIOD_MS[period]!;
    if (Number.isInteger(every)) return { every, period };
  }
  const micro = Math.round(everyMs * 1000);
  if (Math.abs(micro - everyMs * 1000) > 1e-6) {
    throw new BeatEntryError(
      `interval of ${everyMs} ms: django-celery-beat counts in whole microseconds at the finest`,
    );
  }
  return { every: micro, period: 'microseconds' };
}

async function intervalId(
  db: Db,
  dialect: SqlDialectName,
  row: { every: number; period: string },
): Promise<number> {
  const found = await db
    .selectFrom('django_celery_beat_intervalschedule')
    .select('id')
    .where('every', '=', row.every)
    .where('period', '=', row.period)
    .orderBy('id')
    .executeTakeFirst();
  return found ? Number(found.id) : insertId(db, dialect, 'django_celery_beat_intervalschedule', row);
}

async function crontabId(
  db: Db,
  dialect: SqlDialectName,
  json: Extract<ScheduleJson, { type: 'crontab' }>,
): Promise<number> {
  const row = {
    minute: json.minute,
    hour: json.hour,
    day_of_week: json.dayOfWeek,
    day_of_month: json.dayOfMonth,
    month_of_year: json.monthOfYear,
    timezone: json.timezone ?? 'UTC',
  };
  let query = db.selectFrom('django_celery_beat_crontabschedule').select('id');
  for (const [column, value] of Object.entries(row))
    query = query.where(column as keyof typeof row, '=', value);
  const found = await query.orderBy('id').executeTakeFirst();
  return found ? Number(found.id) : insertId(db, dialect, 'django_celery_beat_crontabschedule', row);
}

/** Decimal columns compare unevenly across databases (REAL on SQLite), so equal rows are found here. */
async function solarId(
  db: Db,
  dialect: SqlDialectName,
  json: Extract<ScheduleJson, { type: 'solar' }>,
): Promise<number> {
  const decimal = (value: number, what: string) => {
    if (Math.abs(value * 1e6 - Math.round(value * 1e6)) > 1e-6) {
      throw new BeatEntryError(
        `${what} ${value}: django-celery-beat keeps at most 6 decimal places (DecimalField(9, 6))`,
      );
    }
    return value.toFixed(6);
  };
  const latitude = decimal(json.latitude, 'latitude');
  const longitude = decimal(json.longitude, 'longitude');
  const rows = await db
    .selectFrom('django_celery_beat_solarschedule')
    .selectAll()
    .where('event', '=', json.event)
    .orderBy('id')
    .execute();
  const found = rows.find(
    (r) => Number(r.latitude).toFixed(6) === latitude && Number(r.longitude).toFixed(6) === longitude,
  );
  return found
    ? Number(found.id)
    : insertId(db, dialect, 'django_celery_beat_solarschedule', { event: json.event, latitude, longitude });
}

/** Compared as instants: Django writes SQLite times without `.000000`, other tools may not. */
async function clockedId(db: Db, dialect: SqlDialectName, atMs: number): Promise<number> {
  const rows = await db.selectFrom('django_celery_beat_clockedschedule').selectAll().orderBy('id').execute();
  const found = rows.find((r) => fromDbTime(r.clocked_time) === atMs);
  return found
    ? Number(found.id)
    : insertId(db, dialect, 'django_celery_beat_clockedschedule', { clocked_time: toDbTime(atMs, dialect) });
}

type ScheduleTable = Exclude<
  keyof DjangoBeatDb,
  'django_celery_beat_periodictask' | 'django_celery_beat_periodictasks'
>;

/** Inserts a schedule row and returns its id: `RETURNING` where there is one, MySQL's insert id there. */
async function insertId<T extends ScheduleTable>(
  db: Db,
  dialect: SqlDialectName,
  table: T,
  row: Insertable<DjangoBeatDb[T]>,
): Promise<number> {
  // Kysely cannot type an insert into a table picked by a type parameter; the signature checks `row`.
  const insert = (db as Kysely<Record<string, { id: number }>>).insertInto(table).values(row as never);
  const id =
    dialect === 'mysql'
      ? (await insert.executeTakeFirstOrThrow()).insertId
      : (await insert.returning('id').executeTakeFirstOrThrow()).id;
  if (id === undefined) throw new Error(`inserting into ${table} returned no id`);
  return Number(id);
}

function bool(value: boolean, dialect: SqlDialectName): boolean | number {
  return dialect === 'postgres' ? value : value ? 1 : 0;
}
