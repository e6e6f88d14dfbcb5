/** Beat: periodic task schedules, the stores that keep them, and the lease that keeps one sender. */
export { Beat, entrySendOptions, type BeatOptions, type BeatEntryInfo } from './beat.ts';
export { createBeat, openScheduleStore, type BeatSetup } from './create-beat.ts';
export type { BeatEntryDefinition, BeatEntry, EntryState, ScheduleInput } from './entry.ts';
export { resolveEntry, toSchedule, nextDue } from './entry.ts';
export type { Schedule, ScheduleJson } from './schedules/schedule.ts';
export { IntervalSchedule, ClockedSchedule } from './schedules/interval.ts';
export { CrontabSchedule, type CrontabOptions } from './schedules/crontab.ts';
export { SolarSchedule, SOLAR_EVENTS, type SolarEvent } from './schedules/solar.ts';
export { scheduleFromJson, every, crontab, solar, clocked } from './schedules/from-json.ts';
export {
  describeSchedule,
  describeCrontab,
  describeInterval,
  type DescribeOptions,
} from './schedules/describe.ts';
export { ScheduleError, UnknownTimeZoneError, BeatEntryError } from './errors.ts';
export type { ScheduleStore, StoredEntry } from './stores/store.ts';
export { ConfigFileStore, type ConfigFileStoreOptions } from './stores/config-file-store.ts';
export { SqlScheduleStore, type SqlScheduleStoreOptions } from './stores/sql/sql-schedule-store.ts';
export {
  DjangoScheduleStore,
  type DjangoScheduleStoreOptions,
} from './stores/django/django-schedule-store.ts';
export type { BeatLease, Claim } from './lease/lease.ts';
export { LocalLease } from './lease/local-lease.ts';
export { RedisLease, type RedisLeaseOptions } from './lease/redis-lease.ts';
export { SqlLease, type SqlLeaseOptions } from './stores/sql/sql-lease.ts';
