import { assertTimeZone, gapEnd, instantsOf, offsetAt, toWallTime } from '../timezone.ts';
import { ScheduleError } from '../errors.ts';
import { FIELDS, parseField, type CrontabSpec } from './crontab-parser.ts';
import type { Schedule, ScheduleJson } from './schedule.ts';

export interface CrontabOptions {
  minute?: CrontabSpec;
  hour?: CrontabSpec;
  /** 0 = Sunday, names `sun`..`sat`. */
  dayOfWeek?: CrontabSpec;
  dayOfMonth?: CrontabSpec;
  monthOfYear?: CrontabSpec;
  /** IANA zone the fields are read in. (Default: the app's `timezone`, else UTC) */
  timezone?: string;
}

const DAY_MS = 86_400_000;
// Enough to meet "29 February on a Monday" across the skipped leap year of 2100.
const SEARCH_YEARS = 60;

/**
 * Celery's `crontab`: minute resolution, fields combined with AND (day of month AND day of
 * week, unlike Vixie cron's OR), read in a time zone. Across DST:
 * - spring forward: a time inside the gap runs once when the gap ends (02:30 → 03:00);
 *   with every hour listed, the missing hour is simply absent;
 * - fall back: a repeated wall time runs once, at its first occurrence; with every hour
 *   listed, both passes run, so `*\/15` keeps firing every 15 real minutes.
 */
export class CrontabSchedule implements Schedule {
  readonly kind = 'crontab';
  readonly timezone: string;
  private readonly minutes: number[];
  private readonly hours: number[];
  private readonly daysOfWeek: Set<number>;
  private readonly daysOfMonth: Set<number>;
  private readonly months: Set<number>;
  private readonly everyHour: boolean;
  private readonly specs: Required<Omit<CrontabOptions, 'timezone'>>;

  constructor(options: CrontabOptions = {}, defaultTimezone = 'UTC') {
    this.specs = {
      minute: options.minute ?? '*',
      hour: options.hour ?? '*',
      dayOfWeek: options.dayOfWeek ?? '*',
      dayOfMonth: options.dayOfMonth ?? '*',
      monthOfYear: options.monthOfYear ?? '*',
    };
    this.timezone = assertTimeZone(options.timezone ?? defaultTimezone);
    this.minutes = parseField(this.specs.minute, FIELDS.minute);
    this.hours = parseField(this.specs.hour, FIELDS.hour);
    this.daysOfWeek = new Set(parseField(this.specs.dayOfWeek, FIELDS.day_of_week));
    this.daysOfMonth = new Set(parseField(this.specs.dayOfMonth, FIELDS.day_of_month));
    this.months = new Set(parseField(this.specs.monthOfYear, FIELDS.month_of_year));
    this.everyHour = this.hours.length === 24;
    const possible = [...this.months].some((m) =>
      [...this.daysOfMonth].some((d) => d <= daysInMonth(2000, m)),
    );
    if (!possible) {
      throw new ScheduleError(
        `crontab day_of_month ${JSON.stringify(this.specs.dayOfMonth)} never occurs in month_of_year ` +
          `${JSON.stringify(this.specs.monthOfYear)}`,
      );
    }
  }

  /** Parses a five-field cron line `minute hour day_of_month month_of_year day_of_week`. */
  static fromCronLine(line: string, timezone?: string): CrontabSchedule {
    const f = line.trim().split(/\s+/);
    if (f.length !== 5)
      throw new ScheduleError(`cron line ${JSON.stringify(line)} needs 5 fields, got ${f.length}`);
    return new CrontabSchedule({
      minute: f[0],
      hour: f[1],
      dayOfMonth: f[2],
      monthOfYear: f[3],
      dayOfWeek: f[4],
      timezone,
    });
  }

  nextAfter(afterMs: number): number | null {
    const tz = this.timezone;
    const start = toWallTime(afterMs, tz);
    // Walk local days from the day before `after` (a repeated hour can belong to it) onwards.
    let day = Date.UTC(start.year, start.month - 1, start.day) - DAY_MS;
    const stop = day + SEARCH_YEARS * 366 * DAY_MS;
    while (day < stop) {
      const d = new Date(day);
      const month = d.getUTCMonth() + 1;
      if (!this.months.has(month)) {
        day = Date.UTC(d.getUTCFullYear(), month, 1);
        continue;
      }
      if (this.daysOfMonth.has(d.getUTCDate()) && this.daysOfWeek.has(d.getUTCDay())) {
        const found = this.firstOnDay(day, afterMs);
        if (found !== null) return found;
      }
      day += DAY_MS;
    }
    return null;
  }

  firstRun(nowMs: number): number | null {
    return this.nextAfter(nowMs);
  }

  /** The earliest matching instant > afterMs on the local day starting at `day` (local epoch). */
  private firstOnDay(day: number, afterMs: number): number | null {
    const tz = this.timezone;
    // A local day spans at most [day - 14h, day + 38h] in UTC; one offset over it means no transition.
    const before = offsetAt(day - 14 * 3_600_000, tz);
    const after = offsetAt(day + DAY_MS + 14 * 3_600_000, tz);
    if (before === after) {
      for (const h of this.hours) {
        for (const m of this.minutes) {
          const t = day + h * 3_600_000 + m * 60_000 - before;
          if (t > afterMs) return t;
        }
      }
      return null;
    }
    let best: number | null = null;
    for (const h of this.hours) {
      for (const m of this.minutes) {
        const local = day + h * 3_600_000 + m * 60_000;
        let candidates = instantsOf(local, tz);
        if (candidates.length === 0) candidates = this.everyHour ? [] : [gapEnd(local, tz)];
        else if (!this.everyHour) candidates = candidates.slice(0, 1);
        for (const t of candidates) if (t > afterMs && (best === null || t < best)) best = t;
      }
    }
    return best;
  }

  toJSON(): ScheduleJson {
    return {
      type: 'crontab',
      minute: specText(this.specs.minute),
      hour: specText(this.specs.hour),
      dayOfWeek: specText(this.specs.dayOfWeek),
      dayOfMonth: specText(this.specs.dayOfMonth),
      monthOfYear: specText(this.specs.monthOfYear),
      timezone: this.timezone,
    };
  }

  toString(): string {
    const s = this.specs;
    const line = [s.minute, s.hour, s.dayOfMonth, s.monthOfYear, s.dayOfWeek].map(specText).join(' ');
    return `crontab ${line} (${this.timezone})`;
  }
}

function specText(spec: CrontabSpec): string {
  return Array.isArray(spec) ? spec.join(',') : String(spec);
}

function daysInMonth(year: number, month: number): number {
  return new Date(Date.UTC(year, month, 0)).getUTCDate();
}
