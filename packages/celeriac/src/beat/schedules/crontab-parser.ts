import { ScheduleError } from '../errors.ts';

/**
 * Expands one crontab field into the set of values it matches, with Celery's grammar
 * (`celery/schedules.py` `crontab_parser`): `*`, `*\/n`, `a`, `a-b` (wrapping past the maximum,
 * as `fri-mon`), `a-b/n`, comma lists of those, numbers or a list of numbers. Day names
 * (`sun`..`sat`, or whole names) are read in day_of_week; month names (`jan`..`dec`) in
 * month_of_year, which Celery does not accept but cron users expect.
 */
export interface CrontabField {
  readonly name: 'minute' | 'hour' | 'day_of_week' | 'day_of_month' | 'month_of_year';
  readonly min: number;
  readonly max: number;
  readonly names?: readonly string[];
}

export const FIELDS = {
  minute: { name: 'minute', min: 0, max: 59 },
  hour: { name: 'hour', min: 0, max: 23 },
  // 0 = Sunday, as Celery and cron; 7 is not accepted (Celery rejects it too).
  day_of_week: {
    name: 'day_of_week',
    min: 0,
    max: 6,
    names: ['sun', 'mon', 'tue', 'wed', 'thu', 'fri', 'sat'],
  },
  day_of_month: { name: 'day_of_month', min: 1, max: 31 },
  month_of_year: {
    name: 'month_of_year',
    min: 1,
    max: 12,
    names: ['jan', 'feb', 'mar', 'apr', 'may', 'jun', 'jul', 'aug', 'sep', 'oct', 'nov', 'dec'],
  },
} as const satisfies Record<string, CrontabField>;

export type CrontabSpec = string | number | readonly (string | number)[];

/** The values `spec` matches, sorted; throws ScheduleError naming the field and its range. */
export function parseField(spec: CrontabSpec, field: CrontabField): number[] {
  const fail = (why: string): never => {
    const names = field.names ? ` or names ${field.names[0]}..${field.names[field.names.length - 1]}` : '';
    throw new ScheduleError(
      `crontab ${field.name} ${JSON.stringify(spec)}: ${why} (allowed: ${field.min}-${field.max}${names}, ` +
        `'*', '*/n', 'a-b', 'a-b/n' and comma lists)`,
    );
  };
  const parts = Array.isArray(spec)
    ? spec.map(String)
    : typeof spec === 'number'
      ? [String(spec)]
      : typeof spec === 'string'
        ? spec.split(',')
        : fail(`expected a string, a number or a list, got ${typeof spec}`);
  if (parts.length === 0) fail('empty list');
  const values = new Set<number>();
  for (const raw of parts) {
    const part = raw.trim();
    if (part === '') fail('empty part');
    for (const v of expandPart(part, field, fail)) values.add(v);
  }
  return [...values].sort((a, b) => a - b);
}

function expandPart(part: string, field: CrontabField, fail: (why: string) => never): number[] {
  const [base, stepText, ...extra] = part.split('/');
  if (extra.length > 0) fail(`${JSON.stringify(part)} has more than one '/'`);
  let step = 1;
  if (stepText !== undefined) {
    if (!/^\d+$/.test(stepText) || Number(stepText) === 0)
      fail(`step ${JSON.stringify(stepText)} must be a positive integer`);
    step = Number(stepText);
  }
  let range: number[];
  if (base === '*') {
    range = span(field.min, field.max);
  } else {
    const bounds = base!.split('-');
    if (bounds.length > 2 || bounds.some((b) => b === ''))
      fail(`${JSON.stringify(part)} is not a number or a range a-b`);
    // Celery accepts a step only on '*' or a range: '5/15' is an error there, so it is one here.
    if (bounds.length === 1 && stepText !== undefined)
      fail(`a step needs '*' or a range before it, as '*/${step}'`);
    const from = toNumber(bounds[0]!, field, fail);
    const to = bounds.length === 2 ? toNumber(bounds[1]!, field, fail) : from;
    range = to >= from ? span(from, to) : [...span(from, field.max), ...span(field.min, to)];
  }
  return range.filter((_, i) => i % step === 0);
}

function toNumber(text: string, field: CrontabField, fail: (why: string) => never): number {
  let n: number;
  if (/^\d+$/.test(text)) {
    n = Number(text);
  } else {
    const prefix = text.toLowerCase().slice(0, 3);
    const index = field.names?.indexOf(prefix) ?? -1;
    if (index < 0 || !/^[a-z]+$/i.test(text))
      fail(`${JSON.stringify(text)} is not a number${field.names ? ' or a name' : ''}`);
    n = field.min + index;
  }
  if (n < field.min || n > field.max) fail(`${n} is out of range`);
  return n;
}

function span(from: number, to: number): number[] {
  const out: number[] = [];
  for (let i = from; i <= to; i++) out.push(i);
  return out;
}
