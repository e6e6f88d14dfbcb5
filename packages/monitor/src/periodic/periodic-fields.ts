import {
  clocked,
  crontab,
  every,
  ScheduleError,
  solar,
  SOLAR_EVENTS,
  type BeatEntry,
  type BeatEntryDefinition,
  type Schedule,
} from 'celeriac';
import { instantOfWallTime, wallTimeText } from './zoned-time.ts';

/** The fields that make up a schedule; the others do not change its description. */
export const SCHEDULE_FIELDS = [
  'schedule_type',
  'every',
  'period',
  'minute',
  'hour',
  'day_of_week',
  'day_of_month',
  'month_of_year',
  'timezone',
  'solar_event',
  'latitude',
  'longitude',
  'clocked_time',
] as const;

/**
 * The periodic-task form, field by field (django-celery-beat's admin, flattened): the HTML form
 * and the REST API take the same names, so one parser gives both the same per-field errors.
 */
export const PERIODIC_FIELDS = [
  'name',
  'task',
  ...SCHEDULE_FIELDS,
  'args',
  'kwargs',
  'queue',
  'enabled',
  'one_off',
  'expires',
] as const;

export type PeriodicField = (typeof PERIODIC_FIELDS)[number];
/** Every field as the text a form shows; booleans are `'on'` or `''`. */
export type PeriodicFields = Record<PeriodicField, string>;
export type FieldErrors = Partial<Record<PeriodicField, string>>;

export const SCHEDULE_TYPES = ['interval', 'crontab', 'solar', 'clocked'] as const;
export const PERIODS = { seconds: 1000, minutes: 60_000, hours: 3_600_000, days: 86_400_000 } as const;
const BOOLEAN_FIELDS = new Set<PeriodicField>(['enabled', 'one_off']);
const CRONTAB_FIELDS = [
  ['minute', 'minute'],
  ['hour', 'hour'],
  ['day_of_week', 'dayOfWeek'],
  ['day_of_month', 'dayOfMonth'],
  ['month_of_year', 'monthOfYear'],
] as const;
// Printable text: names and task names come from people, but must not smuggle control characters.
const PRINTABLE = /^[^\p{Cc}]+$/u;

/** A new entry's fields. */
export function defaultFields(timezone = 'UTC'): PeriodicFields {
  return {
    name: '',
    task: '',
    schedule_type: 'crontab',
    every: '',
    period: 'minutes',
    minute: '*',
    hour: '*',
    day_of_week: '*',
    day_of_month: '*',
    month_of_year: '*',
    timezone,
    solar_event: 'sunrise',
    latitude: '',
    longitude: '',
    clocked_time: '',
    args: '[]',
    kwargs: '{}',
    queue: '',
    enabled: 'on',
    one_off: '',
    expires: '',
  };
}

/** A stored entry as form fields (the edit form, and the base a REST `PUT` overlays). */
export function fieldsOf(entry: BeatEntry, enabled: boolean): PeriodicFields {
  const fields: PeriodicFields = {
    ...defaultFields(),
    name: entry.name,
    task: entry.task,
    args: JSON.stringify(entry.args),
    kwargs: JSON.stringify(entry.kwargs),
    queue: entry.options.queue ?? '',
    enabled: enabled ? 'on' : '',
    one_off: entry.oneOff ? 'on' : '',
    expires:
      entry.expireSeconds !== undefined
        ? String(entry.expireSeconds)
        : entry.expiresAtMs !== undefined
          ? new Date(entry.expiresAtMs).toISOString()
          : '',
  };
  const json = entry.schedule.toJSON();
  fields.schedule_type = json.type;
  switch (json.type) {
    case 'interval': {
      const unit = (['days', 'hours', 'minutes', 'seconds'] as const).find(
        (p) => json.everyMs % PERIODS[p] === 0,
      );
      fields.period = unit ?? 'seconds';
      fields.every = String(json.everyMs / PERIODS[unit ?? 'seconds']);
      break;
    }
    case 'crontab':
      Object.assign(fields, {
        minute: json.minute,
        hour: json.hour,
        day_of_week: json.dayOfWeek,
        day_of_month: json.dayOfMonth,
        month_of_year: json.monthOfYear,
        timezone: json.timezone ?? 'UTC',
      });
      break;
    case 'solar':
      Object.assign(fields, {
        solar_event: json.event,
        latitude: String(json.latitude),
        longitude: String(json.longitude),
      });
      break;
    case 'clocked':
      fields.clocked_time = wallTimeText(Date.parse(json.at), 'UTC');
      break;
  }
  return fields;
}

/**
 * Overlays input (form text or JSON values) on `base`. Returns the merged fields and an error per
 * field that is not text, a boolean, or (for args/kwargs) JSON; unknown names are reported too.
 */
export function mergeFields(
  base: PeriodicFields,
  input: Record<string, unknown>,
): { fields: PeriodicFields; errors: FieldErrors; unknown: string[] } {
  const fields = { ...base };
  const errors: FieldErrors = {};
  const unknown: string[] = [];
  const known = new Set<string>(PERIODIC_FIELDS);
  for (const [key, value] of Object.entries(input)) {
    if (!known.has(key)) {
      unknown.push(key);
      continue;
    }
    const field = key as PeriodicField;
    if (value === undefined) continue;
    if (typeof value === 'string') fields[field] = value;
    else if (typeof value === 'number' && Number.isFinite(value)) fields[field] = String(value);
    else if (typeof value === 'boolean' && BOOLEAN_FIELDS.has(field)) fields[field] = value ? 'on' : '';
    else if (value === null && (field === 'queue' || field === 'expires')) fields[field] = '';
    else if ((field === 'args' || field === 'kwargs') && typeof value === 'object')
      fields[field] = JSON.stringify(value);
    else errors[field] = `expected text, got ${value === null ? 'null' : typeof value}`;
  }
  return { fields, errors, unknown };
}

/** The parsed result: a definition beat can run, or an error for each field that is wrong. */
export type ParsedEntry =
  { ok: true; name: string; definition: BeatEntryDefinition } | { ok: false; errors: FieldErrors };

/**
 * Validates every field (each with its own message, all at once) and builds the definition.
 * Crontab fields go through celeriac's own parser, so `61` or `*\/0` fail exactly as beat would.
 * `extras` carries what the form does not show (exchange, routing key, priority, headers, start time).
 */
export function parseFields(f: PeriodicFields, extras: Partial<BeatEntryDefinition> = {}): ParsedEntry {
  const errors: FieldErrors = {};
  const fail = (field: PeriodicField, why: string): undefined => {
    errors[field] ??= why;
    return undefined;
  };
  const name = f.name.trim();
  if (name === '') fail('name', 'required');
  else if (name.length > 200) fail('name', 'at most 200 characters');
  else if (!PRINTABLE.test(name)) fail('name', 'must not contain control characters');
  const task = f.task.trim();
  if (task === '') fail('task', 'required');
  else if (!/^\S{1,255}$/.test(task)) fail('task', 'a task name: no spaces, at most 255 characters');

  const enabled = parseBoolean(f.enabled, 'enabled', fail);
  const oneOff = parseBoolean(f.one_off, 'one_off', fail);
  let timezone = f.timezone.trim() || 'UTC';
  if (!tryBuild(() => crontab({ timezone }))) {
    fail(
      'timezone',
      `unknown time zone ${JSON.stringify(timezone)}: an IANA name such as Europe/Berlin or UTC`,
    );
    timezone = 'UTC'; // so the other fields can still be checked
  }

  let schedule: Schedule | undefined;
  switch (f.schedule_type) {
    case 'interval':
      schedule = parseInterval(f, fail);
      break;
    case 'crontab':
      schedule = parseCrontab(f, timezone, errors, fail);
      break;
    case 'solar':
      schedule = parseSolar(f, fail);
      break;
    case 'clocked': {
      const at = parseTime(f.clocked_time, timezone, 'clocked_time', fail, true);
      if (at !== undefined) schedule = clocked(at);
      break;
    }
    default:
      fail('schedule_type', `one of ${SCHEDULE_TYPES.join(', ')}`);
  }

  const args = parseJson(f.args, 'args', fail, (v) => Array.isArray(v), 'a JSON array, e.g. [1, "two"]');
  const kwargs = parseJson(
    f.kwargs,
    'kwargs',
    fail,
    (v) => typeof v === 'object' && v !== null && !Array.isArray(v),
    'a JSON object, e.g. {"to": "ops@example.com"}',
  );
  const queue = f.queue.trim();
  if (queue !== '' && !/^\S{1,255}$/.test(queue))
    fail('queue', 'a queue name: no spaces, at most 255 characters');
  let expires: Date | number | undefined;
  const expiresText = f.expires.trim();
  if (/^\d+(\.\d+)?$/.test(expiresText)) {
    expires = Number(expiresText);
    if (!(expires > 0)) fail('expires', 'a number of seconds must be more than 0');
  } else if (expiresText !== '') {
    const at = parseTime(expiresText, timezone, 'expires', fail, false);
    if (at !== undefined) expires = new Date(at);
  }

  if (Object.keys(errors).length > 0 || !schedule) return { ok: false, errors };
  const definition: BeatEntryDefinition = {
    ...extras,
    task,
    schedule,
    args: args as unknown[],
    kwargs: kwargs as Record<string, unknown>,
    queue: queue || undefined,
    oneOff,
    enabled,
    expires,
  };
  return { ok: true, name, definition };
}

type Fail = (field: PeriodicField, why: string) => undefined;

function parseInterval(f: PeriodicFields, fail: Fail): Schedule | undefined {
  const unit = PERIODS[f.period as keyof typeof PERIODS];
  if (unit === undefined) fail('period', `one of ${Object.keys(PERIODS).join(', ')}`);
  const n = Number(f.every.trim());
  if (f.every.trim() === '' || !Number.isFinite(n) || n <= 0) return fail('every', 'a number greater than 0');
  if (unit === undefined) return undefined;
  const ms = Math.round(n * unit);
  if (ms < 1) return fail('every', 'at least 1 ms');
  return every(ms);
}

function parseCrontab(
  f: PeriodicFields,
  timezone: string,
  errors: FieldErrors,
  fail: Fail,
): Schedule | undefined {
  for (const [field, option] of CRONTAB_FIELDS) {
    const spec = f[field].trim();
    if (spec === '') {
      fail(field, "required ('*' for any)");
      continue;
    }
    try {
      crontab({ [option]: spec });
    } catch (error) {
      fail(field, error instanceof ScheduleError ? error.message : String(error));
    }
  }
  if (CRONTAB_FIELDS.some(([field]) => errors[field]) || errors.timezone) return undefined;
  try {
    return crontab({
      minute: f.minute.trim(),
      hour: f.hour.trim(),
      dayOfWeek: f.day_of_week.trim(),
      dayOfMonth: f.day_of_month.trim(),
      monthOfYear: f.month_of_year.trim(),
      timezone,
    });
  } catch (error) {
    // Each field was fine alone: the combination never happens (30 February).
    return fail('day_of_month', (error as Error).message);
  }
}

function parseSolar(f: PeriodicFields, fail: Fail): Schedule | undefined {
  const event = f.solar_event as (typeof SOLAR_EVENTS)[number];
  if (!SOLAR_EVENTS.includes(event)) fail('solar_event', `one of ${SOLAR_EVENTS.join(', ')}`);
  const latitude = parseRange(f.latitude, -90, 90, 'latitude', fail);
  const longitude = parseRange(f.longitude, -180, 180, 'longitude', fail);
  if (latitude === undefined || longitude === undefined || !SOLAR_EVENTS.includes(event)) return undefined;
  return solar(event, latitude, longitude);
}

function parseRange(text: string, min: number, max: number, field: PeriodicField, fail: Fail) {
  const n = Number(text.trim());
  if (text.trim() === '' || !Number.isFinite(n) || n < min || n > max)
    return fail(field, `a number from ${min} to ${max}`);
  return n;
}

function parseTime(
  text: string,
  timezone: string,
  field: PeriodicField,
  fail: Fail,
  required: boolean,
): number | undefined {
  if (text.trim() === '') return required ? fail(field, 'required: a date and time') : undefined;
  const ms = instantOfWallTime(text.trim(), timezone);
  if (ms === undefined)
    return fail(field, 'a date and time, e.g. 2030-01-31T09:00 (in the time zone field) or with Z');
  return ms;
}

function parseJson(
  text: string,
  field: PeriodicField,
  fail: Fail,
  check: (v: unknown) => boolean,
  expected: string,
): unknown {
  const trimmed = text.trim();
  if (trimmed === '') return field === 'args' ? [] : {};
  let value: unknown;
  try {
    value = JSON.parse(trimmed);
  } catch (error) {
    return fail(field, `not JSON (${(error as Error).message}); expected ${expected}`);
  }
  return check(value) ? value : fail(field, `expected ${expected}`);
}

function parseBoolean(text: string, field: PeriodicField, fail: Fail): boolean {
  const t = text.trim().toLowerCase();
  if (['on', 'true', '1', 'yes'].includes(t)) return true;
  if (['', 'off', 'false', '0', 'no'].includes(t)) return false;
  fail(field, 'true or false');
  return false;
}

function tryBuild(build: () => unknown): boolean {
  try {
    build();
    return true;
  } catch {
    return false;
  }
}
