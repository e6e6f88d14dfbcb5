import type { ApplyOptions } from '../task/options.ts';
import { BeatEntryError, ScheduleError } from './errors.ts';
import { CrontabSchedule, type CrontabOptions } from './schedules/crontab.ts';
import { scheduleFromJson } from './schedules/from-json.ts';
import { ClockedSchedule, IntervalSchedule } from './schedules/interval.ts';
import type { Schedule, ScheduleJson } from './schedules/schedule.ts';
import { SolarSchedule, type SolarEvent } from './schedules/solar.ts';

/** How an entry's schedule may be written in config. */
export type ScheduleInput =
  | Schedule
  | ScheduleJson
  | string
  | { every: number | string }
  | { crontab: string | CrontabOptions }
  | { solar: SolarEvent; latitude: number; longitude: number }
  | { clocked: Date | string | number };

/**
 * One periodic task as written in `beatSchedule` (Celery's `beat_schedule` entry, plus the
 * per-entry fields of django-celery-beat's `PeriodicTask`).
 *
 * @example
 * beatSchedule: { 'add-every-5s': { task: 'tasks.add', schedule: { every: '5s' }, args: [14, 15] } }
 */
export interface BeatEntryDefinition {
  task: string;
  /** `{ every: '5s' }`, `'5s'`, `{ crontab: '0 4 * * mon' }`, `crontab({...})`, `{ solar: 'sunset', latitude, longitude }`, `{ clocked: date }`. */
  schedule: ScheduleInput;
  args?: unknown[];
  kwargs?: Record<string, unknown>;
  queue?: string;
  exchange?: string;
  routingKey?: string;
  priority?: number;
  headers?: Record<string, unknown>;
  /** Send once, then disable the entry. (Default: false; always true for clocked schedules) */
  oneOff?: boolean;
  /** Not sent before this time. */
  startTime?: Date | string;
  /**
   * A time: the entry stops after it, and each message carries it as its expiry (django-celery-beat's
   * `expires`). A number: seconds each message may wait before it expires (`expire_seconds`).
   */
  expires?: Date | string | number;
  /** (Default: true) */
  enabled?: boolean;
}

/** An entry resolved once: schedule built, times in ms, options ready for `sendTask`. */
export interface BeatEntry {
  readonly name: string;
  readonly task: string;
  readonly schedule: Schedule;
  readonly args: readonly unknown[];
  readonly kwargs: Readonly<Record<string, unknown>>;
  readonly options: Readonly<
    Pick<ApplyOptions, 'queue' | 'exchange' | 'routingKey' | 'priority' | 'headers'>
  >;
  readonly oneOff: boolean;
  readonly startTimeMs?: number;
  readonly expiresAtMs?: number;
  readonly expireSeconds?: number;
  readonly enabled: boolean;
}

/** What beat remembers about an entry between runs and restarts. */
export interface EntryState {
  /** When it was last sent (Celery's `last_run_at`). */
  lastRunAtMs?: number;
  /** The due time (slot) of that send: the fencing key that stops a second beat sending it again. */
  lastSlotMs?: number;
  totalRunCount: number;
  /** False once a one-off entry has run. */
  enabled?: boolean;
}

/** Builds a schedule from any accepted config form; throws ScheduleError naming what is wrong. */
export function toSchedule(input: ScheduleInput, defaultTimezone = 'UTC'): Schedule {
  if (typeof input === 'string') return new IntervalSchedule(input);
  if (typeof input === 'number') {
    throw new ScheduleError(
      `schedule ${input}: a bare number is ambiguous; write { every: '${input}s' } or { every: ${input} } (ms)`,
    );
  }
  if (!input || typeof input !== 'object')
    throw new ScheduleError(`schedule ${JSON.stringify(input)} is not a schedule`);
  if ('nextAfter' in input && typeof input.nextAfter === 'function') return input;
  if ('every' in input) return new IntervalSchedule(input.every);
  if ('crontab' in input) {
    return typeof input.crontab === 'string'
      ? CrontabSchedule.fromCronLine(input.crontab, defaultTimezone)
      : new CrontabSchedule(input.crontab, defaultTimezone);
  }
  if ('solar' in input) return new SolarSchedule(input.solar, input.latitude, input.longitude);
  if ('clocked' in input) return new ClockedSchedule(input.clocked);
  if ('type' in input) return scheduleFromJson(input, defaultTimezone);
  throw new ScheduleError(
    `schedule ${JSON.stringify(input)} is not one of { every }, { crontab }, { solar, latitude, longitude }, { clocked }`,
  );
}

/** Resolves a definition once; the error names the entry and says what to fix. */
export function resolveEntry(name: string, def: BeatEntryDefinition, defaultTimezone = 'UTC'): BeatEntry {
  const fail = (why: string, cause?: unknown): never => {
    throw new BeatEntryError(`beat entry ${JSON.stringify(name)}: ${why}`, { cause });
  };
  if (!def || typeof def !== 'object') fail('expected an object with task and schedule');
  if (typeof def.task !== 'string' || def.task === '') fail('task must be a non-empty task name');
  if (def.args !== undefined && !Array.isArray(def.args)) fail('args must be an array');
  if (
    def.kwargs !== undefined &&
    (typeof def.kwargs !== 'object' || def.kwargs === null || Array.isArray(def.kwargs))
  ) {
    fail('kwargs must be an object');
  }
  let schedule: Schedule;
  try {
    schedule = toSchedule(def.schedule, defaultTimezone);
  } catch (cause) {
    return fail((cause as Error).message, cause);
  }
  const time = (value: Date | string | undefined, what: string): number | undefined => {
    if (value === undefined || value === null) return undefined;
    const ms = value instanceof Date ? value.getTime() : Date.parse(value);
    if (!Number.isFinite(ms)) fail(`${what} ${JSON.stringify(value)} is not a date`);
    return ms;
  };
  let expiresAtMs: number | undefined;
  let expireSeconds: number | undefined;
  if (typeof def.expires === 'number') {
    if (!(def.expires > 0)) fail(`expires ${def.expires} must be a positive number of seconds`);
    expireSeconds = def.expires;
  } else {
    expiresAtMs = time(def.expires, 'expires');
  }
  const options: BeatEntry['options'] = Object.fromEntries(
    Object.entries({
      queue: def.queue,
      exchange: def.exchange,
      routingKey: def.routingKey,
      priority: def.priority,
      headers: def.headers,
    }).filter(([, v]) => v !== undefined && v !== null),
  );
  return Object.freeze({
    name,
    task: def.task,
    schedule,
    args: Object.freeze([...(def.args ?? [])]),
    kwargs: Object.freeze({ ...(def.kwargs ?? {}) }),
    options: Object.freeze(options),
    oneOff: def.oneOff === true || schedule.kind === 'clocked',
    startTimeMs: time(def.startTime, 'startTime'),
    expiresAtMs,
    expireSeconds,
    enabled: def.enabled !== false,
  });
}

/** The next due time of an entry given what beat remembers, or null when it is done. */
export function nextDue(entry: BeatEntry, state: EntryState, nowMs: number): number | null {
  if (!entry.enabled || state.enabled === false) return null;
  let due =
    state.lastRunAtMs === undefined
      ? entry.schedule.firstRun(nowMs)
      : entry.schedule.nextAfter(state.lastRunAtMs);
  if (due === null) return null;
  if (entry.startTimeMs !== undefined && due < entry.startTimeMs) {
    due =
      entry.schedule.kind === 'interval'
        ? entry.startTimeMs
        : entry.schedule.nextAfter(entry.startTimeMs - 1);
    if (due === null) return null;
  }
  if (entry.expiresAtMs !== undefined && due > entry.expiresAtMs) return null;
  return due;
}

/** Identifies an entry's definition, so a reload that changed nothing keeps its pending due time. */
export function fingerprint(entry: BeatEntry): string {
  return JSON.stringify([
    entry.task,
    entry.schedule.toJSON(),
    entry.args,
    entry.kwargs,
    entry.options,
    entry.oneOff,
    entry.startTimeMs,
    entry.expiresAtMs,
    entry.expireSeconds,
    entry.enabled,
  ]);
}
