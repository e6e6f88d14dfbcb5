/**
 * django-celery-beat 2.4's tables, as Django's migrations create them (see
 * `django_celery_beat/models.py`). Only the columns beat and the monitor read or write are typed.
 * Datetimes are UTC (Django's USE_TZ=True): `timestamptz` on PostgreSQL, `datetime(6)` on
 * MySQL, text `YYYY-MM-DD HH:MM:SS[.ffffff]` on SQLite.
 */
import type { Generated } from 'kysely';

type DbTime = Date | string | null;

export interface DjangoBeatDb {
  django_celery_beat_periodictask: {
    id: Generated<number>;
    name: string;
    task: string;
    args: string;
    kwargs: string;
    queue: string | null;
    exchange: string | null;
    routing_key: string | null;
    headers: string;
    priority: number | null;
    expires: DbTime;
    expire_seconds: number | null;
    one_off: boolean | number;
    start_time: DbTime;
    enabled: boolean | number;
    last_run_at: DbTime;
    total_run_count: number;
    interval_id: number | null;
    crontab_id: number | null;
    solar_id: number | null;
    clocked_id: number | null;
    date_changed: DbTime;
    description: string;
  };
  /** One row, ident 1: `last_update` moves on every change, and Django's beat reloads when it does. */
  django_celery_beat_periodictasks: { ident: number; last_update: DbTime };
  django_celery_beat_intervalschedule: { id: Generated<number>; every: number; period: string };
  django_celery_beat_crontabschedule: {
    id: Generated<number>;
    minute: string;
    hour: string;
    day_of_week: string;
    day_of_month: string;
    month_of_year: string;
    timezone: string;
  };
  django_celery_beat_solarschedule: {
    id: Generated<number>;
    event: string;
    latitude: string | number;
    longitude: string | number;
  };
  django_celery_beat_clockedschedule: { id: Generated<number>; clocked_time: DbTime };
}

/** A Django datetime column's value as epoch ms (naive SQLite text is UTC under USE_TZ). */
export function fromDbTime(value: DbTime | undefined): number | undefined {
  if (value === null || value === undefined) return undefined;
  if (value instanceof Date) return value.getTime();
  const text = value.includes('T') ? value : value.replace(' ', 'T');
  return Date.parse(/([zZ]|[+-]\d\d:?\d\d)$/.test(text) ? text : `${text}Z`);
}

/**
 * Epoch ms as the driver wants it: SQLite gets Django's own text form (`str(datetime)`: no
 * `.000000` on whole seconds, since Django's lookups compare that text), the others a Date.
 */
export function toDbTime(ms: number, dialect: 'postgres' | 'mysql' | 'sqlite'): Date | string {
  if (dialect !== 'sqlite') return new Date(ms);
  const iso = new Date(ms).toISOString(); // 2024-05-01T10:00:05.123Z
  const fraction = ms % 1000 === 0 ? '' : `${iso.slice(19, 23)}000`;
  return `${iso.slice(0, 10)} ${iso.slice(11, 19)}${fraction}`;
}

/** `IntervalSchedule.period` to milliseconds. */
export const PERIOD_MS: Record<string, number> = {
  days: 86_400_000,
  hours: 3_600_000,
  minutes: 60_000,
  seconds: 1000,
  microseconds: 0.001,
};
