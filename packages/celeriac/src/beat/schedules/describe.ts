import { FIELDS, parseField } from './crontab-parser.ts';
import type { Schedule, ScheduleJson } from './schedule.ts';

/**
 * Schedules in plain words, for people reading a list of periodic tasks (the monitor, `beat
 * --list`): `every 15 minutes`, `every Monday at 07:30`, `at 00:00 on day 1 of the month`.
 * Crontab fields combine with AND, as in Celery, so a day of the month and a day of the week
 * together read "on day 13 of the month if it is a Friday".
 */
export interface DescribeOptions {
  /** Add a crontab's time zone in brackets: `'always'`, or `'non-utc'` to leave UTC out. (Default: `'non-utc'`) */
  timezone?: 'always' | 'non-utc' | 'never';
}

const DAY_NAMES = ['Sunday', 'Monday', 'Tuesday', 'Wednesday', 'Thursday', 'Friday', 'Saturday'];
const MONTH_NAMES = [
  'January',
  'February',
  'March',
  'April',
  'May',
  'June',
  'July',
  'August',
  'September',
  'October',
  'November',
  'December',
];
const SOLAR_WORDS: Record<string, string> = {
  dawn_astronomical: 'astronomical dawn',
  dawn_nautical: 'nautical dawn',
  dawn_civil: 'civil dawn',
  sunrise: 'sunrise',
  solar_noon: 'solar noon',
  sunset: 'sunset',
  dusk_civil: 'civil dusk',
  dusk_nautical: 'nautical dusk',
  dusk_astronomical: 'astronomical dusk',
};
/** Up to this many times a day are listed one by one ("at 09:00, 12:00 and 15:00"). */
const MAX_LISTED_TIMES = 6;

/** One schedule (or its JSON form) in plain words. Throws ScheduleError for an invalid crontab. */
export function describeSchedule(schedule: Schedule | ScheduleJson, options: DescribeOptions = {}): string {
  const json: ScheduleJson = 'nextAfter' in schedule ? schedule.toJSON() : schedule;
  switch (json.type) {
    case 'interval':
      return describeInterval(json.everyMs);
    case 'clocked':
      return `once at ${new Date(json.at).toISOString().slice(0, 16).replace('T', ' ')} UTC`;
    case 'solar': {
      const lat = `${Math.abs(json.latitude)}°${json.latitude < 0 ? 'S' : 'N'}`;
      const lon = `${Math.abs(json.longitude)}°${json.longitude < 0 ? 'W' : 'E'}`;
      return `every day at ${SOLAR_WORDS[json.event] ?? json.event} at ${lat} ${lon}`;
    }
    case 'crontab':
      return describeCrontab(json, options);
  }
}

/** `every 15 minutes`, `every 2 hours`, `every 1.5 seconds`. */
export function describeInterval(everyMs: number): string {
  const units: Array<[number, string]> = [
    [86_400_000, 'day'],
    [3_600_000, 'hour'],
    [60_000, 'minute'],
    [1000, 'second'],
  ];
  for (const [size, unit] of units) {
    if (everyMs % size === 0) return plural(everyMs / size, unit);
  }
  return everyMs > 1000 ? plural(everyMs / 1000, 'second') : `every ${everyMs} ms`;
}

function plural(n: number, unit: string): string {
  return n === 1 ? `every ${unit}` : `every ${n} ${unit}s`;
}

type CrontabJson = Extract<ScheduleJson, { type: 'crontab' }>;

/** A crontab in words; the fields are parsed with the crontab's own parser. */
export function describeCrontab(json: Omit<CrontabJson, 'type'>, options: DescribeOptions = {}): string {
  const minutes = parseField(json.minute, FIELDS.minute);
  const hours = parseField(json.hour, FIELDS.hour);
  const weekdays = parseField(json.dayOfWeek, FIELDS.day_of_week);
  const monthDays = parseField(json.dayOfMonth, FIELDS.day_of_month);
  const months = parseField(json.monthOfYear, FIELDS.month_of_year);
  const everyWeekday = weekdays.length === 7;
  const everyMonthDay = monthDays.length === 31;
  const everyMonth = months.length === 12;

  const time = describeTime(minutes, hours);
  let text: string;
  if (!everyWeekday && everyMonthDay && time.fixed) {
    text = `every ${dayList(weekdays)} ${time.text}`; // every Monday at 07:30
  } else {
    text = time.text;
    if (!everyMonthDay) text += ` on ${monthDayList(monthDays)}`;
    if (!everyWeekday)
      text += everyMonthDay ? ` on ${dayList(weekdays)}` : ` if it is a ${dayList(weekdays, 'or')}`;
  }
  if (!everyMonth) text += ` ${monthList(months)}`;
  const zone = json.timezone ?? 'UTC';
  const showZone = options.timezone ?? 'non-utc';
  if (showZone === 'always' || (showZone === 'non-utc' && zone !== 'UTC')) text += ` (${zone})`;
  return text;
}

/** The time-of-day part: a few fixed times ("at 07:30") or a frequency ("every 15 minutes"). */
function describeTime(minutes: number[], hours: number[]): { text: string; fixed: boolean } {
  const allMinutes = minutes.length === 60;
  const allHours = hours.length === 24;
  const minuteStep = stepOf(minutes, 0, 59);
  const hourStep = stepOf(hours, 0, 23);
  const single = minutes.length === 1 ? minutes[0]! : undefined;

  // A few times a day read best as a list.
  if (minutes.length * hours.length <= MAX_LISTED_TIMES) {
    const times = hours.flatMap((h) => minutes.map((m) => `${pad(h)}:${pad(m)}`));
    return { text: `at ${join(times)}`, fixed: true };
  }

  let frequency: string | undefined;
  if (allMinutes) frequency = 'every minute';
  else if (minuteStep !== undefined) frequency = `every ${minuteStep} minutes`;
  if (frequency !== undefined) {
    if (allHours) return { text: frequency, fixed: false };
    return { text: `${frequency} ${hourWindow(hours)}`, fixed: false };
  }
  if (single !== undefined && allHours) {
    return { text: single === 0 ? 'every hour' : `every hour at minute ${single}`, fixed: false };
  }
  if (single !== undefined && hourStep !== undefined) {
    return {
      text: single === 0 ? `every ${hourStep} hours` : `every ${hourStep} hours at minute ${single}`,
      fixed: false,
    };
  }
  if (single !== undefined && isRun(hours)) {
    return {
      text: `every hour from ${pad(hours[0]!)}:${pad(single)} to ${pad(hours.at(-1)!)}:${pad(single)}`,
      fixed: false,
    };
  }
  const minutePart = single !== undefined ? `at minute ${single}` : `at minutes ${join(minutes.map(String))}`;
  if (allHours) return { text: `${minutePart} of every hour`, fixed: false };
  return { text: `${minutePart} ${hourWindow(hours)}`, fixed: false };
}

/** Which hours a frequency applies in: `from 09:00 to 17:59`, `every 2 hours`, `in hours 9, 12 and 15`. */
function hourWindow(hours: number[]): string {
  const step = stepOf(hours, 0, 23);
  if (step !== undefined) return `of every ${step}${ordinalSuffix(step)} hour`;
  if (isRun(hours)) return `from ${pad(hours[0]!)}:00 to ${pad(hours.at(-1)!)}:59`;
  return hours.length === 1 ? `in hour ${hours[0]}` : `in hours ${join(hours.map(String))}`;
}

/** Days of the week Monday first: `Monday`, `Monday to Friday`, `Monday, Wednesday and Friday`. */
function dayList(days: number[], conjunction = 'and'): string {
  const mondayFirst = [...days].sort((a, b) => ((a + 6) % 7) - ((b + 6) % 7));
  const positions = mondayFirst.map((d) => (d + 6) % 7);
  if (mondayFirst.length >= 3 && isRun(positions))
    return `${DAY_NAMES[mondayFirst[0]!]} to ${DAY_NAMES[mondayFirst.at(-1)!]}`;
  return join(
    mondayFirst.map((d) => DAY_NAMES[d]!),
    conjunction,
  );
}

function monthDayList(days: number[]): string {
  if (days.length === 1) return `day ${days[0]} of the month`;
  const step = stepOf(days, 1, 31);
  if (step !== undefined) return `every ${step}${ordinalSuffix(step)} day of the month`;
  if (days.length >= 3 && isRun(days)) return `days ${days[0]} to ${days.at(-1)} of the month`;
  return `days ${join(days.map(String))} of the month`;
}

function monthList(months: number[]): string {
  const names = months.map((m) => MONTH_NAMES[m - 1]!);
  if (months.length >= 3 && isRun(months)) return `from ${names[0]} to ${names.at(-1)}`;
  return `in ${join(names)}`;
}

/**
 * n when `values` is min, min+n, min+2n, … up to the last one that fits and n > 1 divides the
 * range evenly (so the gap over the wrap is n too): `*\/15` → 15; `*\/7` → undefined.
 */
function stepOf(values: number[], min: number, max: number): number | undefined {
  if (values.length < 2 || values[0] !== min) return undefined;
  const step = values[1]! - values[0]!;
  const size = max - min + 1;
  if (step <= 1 || size % step !== 0 || values.length !== size / step) return undefined;
  return values.every((v, i) => v === min + i * step) ? step : undefined;
}

function isRun(values: number[]): boolean {
  return values.every((v, i) => i === 0 || v === values[i - 1]! + 1);
}

function join(items: string[], conjunction = 'and'): string {
  if (items.length <= 1) return items.join('');
  return `${items.slice(0, -1).join(', ')} ${conjunction} ${items.at(-1)}`;
}

function pad(n: number): string {
  return String(n).padStart(2, '0');
}

function ordinalSuffix(n: number): string {
  if (n % 100 >= 11 && n % 100 <= 13) return 'th';
  return ['th', 'st', 'nd', 'rd'][n % 10] ?? 'th';
}
