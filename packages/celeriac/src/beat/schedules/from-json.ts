import { ScheduleError } from '../errors.ts';
import { CrontabSchedule, type CrontabOptions } from './crontab.ts';
import { ClockedSchedule, IntervalSchedule } from './interval.ts';
import type { Schedule, ScheduleJson } from './schedule.ts';
import { SolarSchedule, type SolarEvent } from './solar.ts';

/** `every('5s')`, `every(5000)`: an interval schedule. */
export const every = (interval: number | string): IntervalSchedule => new IntervalSchedule(interval);
/** `crontab({ minute: 0, hour: '*\/3', dayOfWeek: 'mon-fri' })`, Celery's `crontab(...)`. */
export const crontab = (options: CrontabOptions = {}): CrontabSchedule => new CrontabSchedule(options);
/** `solar('sunset', 52.52, 13.40)`, Celery's `solar(event, lat, lon)`. */
export const solar = (event: SolarEvent, latitude: number, longitude: number): SolarSchedule =>
  new SolarSchedule(event, latitude, longitude);
/** `clocked('2030-01-01T09:00:00Z')`: once at that time. */
export const clocked = (at: Date | string | number): ClockedSchedule => new ClockedSchedule(at);

/** Rebuilds a schedule from its `toJSON()` form (stores keep schedules this way). */
export function scheduleFromJson(json: ScheduleJson, defaultTimezone = 'UTC'): Schedule {
  switch (json?.type) {
    case 'interval':
      return new IntervalSchedule(json.everyMs);
    case 'crontab':
      return new CrontabSchedule(json, defaultTimezone);
    case 'solar':
      return new SolarSchedule(json.event as SolarEvent, json.latitude, json.longitude);
    case 'clocked':
      return new ClockedSchedule(json.at);
    default:
      throw new ScheduleError(
        `schedule ${JSON.stringify(json)} has no known type (interval, crontab, solar, clocked)`,
      );
  }
}
