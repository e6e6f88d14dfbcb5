import { describe, expect, it } from 'vitest';
import { FIELDS, parseField } from '../../src/beat/schedules/crontab-parser.ts';
import { CrontabSchedule } from '../../src/beat/schedules/crontab.ts';
import { ScheduleError, UnknownTimeZoneError } from '../../src/beat/errors.ts';

const at = (iso: string) => Date.parse(iso);
const iso = (ms: number | null) => (ms === null ? null : new Date(ms).toISOString().replace('.000Z', 'Z'));

/** The next `n` runs after `from`, as ISO strings. */
function runs(cron: CrontabSchedule, from: string, n: number): (string | null)[] {
  const out: (string | null)[] = [];
  let t: number | null = at(from);
  for (let i = 0; i < n && t !== null; i++) {
    t = cron.nextAfter(t);
    out.push(iso(t));
  }
  return out;
}

const line = (text: string, tz?: string) => CrontabSchedule.fromCronLine(text, tz);

describe('crontab fields (Celery crontab_parser grammar)', () => {
  it.each([
    ['*', 'hour', Array.from({ length: 24 }, (_, i) => i)],
    ['*/15', 'minute', [0, 15, 30, 45]],
    ['*/3', 'day_of_month', [1, 4, 7, 10, 13, 16, 19, 22, 25, 28, 31]],
    ['10-20/5', 'minute', [10, 15, 20]],
    ['2-12/2', 'month_of_year', [2, 4, 6, 8, 10, 12]],
    ['1-3', 'hour', [1, 2, 3]],
    ['5,1,3', 'minute', [1, 3, 5]],
    ['1-3,10-12', 'hour', [1, 2, 3, 10, 11, 12]],
    [7, 'hour', [7]],
    [[1, '3', '5-6'], 'minute', [1, 3, 5, 6]],
    ['mon-fri', 'day_of_week', [1, 2, 3, 4, 5]],
    ['sat,sun', 'day_of_week', [0, 6]],
    ['fri-mon', 'day_of_week', [0, 1, 5, 6]],
    ['Sunday', 'day_of_week', [0]],
    ['22-2', 'hour', [0, 1, 2, 22, 23]],
    ['jan,jul-sep', 'month_of_year', [1, 7, 8, 9]],
  ] as const)('%j in %s', (spec, field, expected) => {
    expect(parseField(spec as never, FIELDS[field])).toEqual(expected);
  });

  it.each([
    ['60', 'minute', /crontab minute "60": 60 is out of range \(allowed: 0-59/],
    ['25', 'hour', /crontab hour "25": 25 is out of range \(allowed: 0-23/],
    ['7', 'day_of_week', /crontab day_of_week "7": 7 is out of range \(allowed: 0-6 or names sun..sat/],
    ['0', 'day_of_month', /crontab day_of_month "0": 0 is out of range \(allowed: 1-31/],
    ['13', 'month_of_year', /crontab month_of_year "13": 13 is out of range \(allowed: 1-12/],
    ['abc', 'minute', /"abc" is not a number/],
    ['fun', 'day_of_week', /"fun" is not a number or a name/],
    ['*/0', 'minute', /step "0" must be a positive integer/],
    ['*/x', 'minute', /step "x" must be a positive integer/],
    ['5/15', 'minute', /a step needs '\*' or a range/],
    ['1-', 'hour', /is not a number or a range/],
    ['-1', 'hour', /is not a number or a range/],
    ['1,,2', 'hour', /empty part/],
    ['', 'hour', /empty part/],
    ['1.5', 'hour', /"1.5" is not a number/],
  ] as const)('rejects %j in %s', (spec, field, message) => {
    expect(() => parseField(spec, FIELDS[field])).toThrow(ScheduleError);
    expect(() => parseField(spec, FIELDS[field])).toThrow(message);
  });

  it('rejects a day of month that never occurs in the months given', () => {
    expect(() => new CrontabSchedule({ dayOfMonth: 30, monthOfYear: 2 })).toThrow(
      /day_of_month 30 never occurs in month_of_year 2/,
    );
    expect(() => new CrontabSchedule({ dayOfMonth: 29, monthOfYear: 2 })).not.toThrow();
  });

  it('names the field when given through the schedule', () => {
    const err = (() => {
      try {
        new CrontabSchedule({ hour: '24' });
      } catch (e) {
        return e as ScheduleError;
      }
    })();
    expect(err?.code).toBe('INVALID_SCHEDULE');
    expect(err?.message).toContain('hour');
    expect(err?.message).toContain('0-23');
  });

  it('rejects an unknown time zone with its own code', () => {
    const make = () => new CrontabSchedule({ minute: 0 }, 'Mars/Olympus_Mons');
    expect(make).toThrow(UnknownTimeZoneError);
    expect(make).toThrow(/unknown time zone "Mars\/Olympus_Mons"/);
    try {
      make();
    } catch (e) {
      expect((e as UnknownTimeZoneError).code).toBe('UNKNOWN_TIMEZONE');
    }
  });

  it('needs five fields in a cron line', () => {
    expect(() => line('* * * *')).toThrow(/needs 5 fields, got 4/);
  });
});

describe('crontab next run (UTC)', () => {
  it('every quarter hour', () => {
    expect(runs(line('*/15 * * * *'), '2024-05-01T10:07:30Z', 3)).toEqual([
      '2024-05-01T10:15:00Z',
      '2024-05-01T10:30:00Z',
      '2024-05-01T10:45:00Z',
    ]);
  });

  it('is strictly after the given instant', () => {
    expect(iso(line('0 * * * *').nextAfter(at('2024-05-01T10:00:00Z')))).toBe('2024-05-01T11:00:00Z');
  });

  it('every minute crosses midnight and year end', () => {
    expect(runs(line('* * * * *'), '2024-12-31T23:58:00Z', 3)).toEqual([
      '2024-12-31T23:59:00Z',
      '2025-01-01T00:00:00Z',
      '2025-01-01T00:01:00Z',
    ]);
  });

  it('the 31st skips short months', () => {
    expect(runs(line('0 0 31 * *'), '2024-01-31T00:00:00Z', 3)).toEqual([
      '2024-03-31T00:00:00Z',
      '2024-05-31T00:00:00Z',
      '2024-07-31T00:00:00Z',
    ]);
  });

  it('29 February waits for leap years', () => {
    expect(runs(line('0 12 29 2 *'), '2024-03-01T00:00:00Z', 2)).toEqual([
      '2028-02-29T12:00:00Z',
      '2032-02-29T12:00:00Z',
    ]);
  });

  it('day of month AND day of week: the first Monday (not Vixie cron OR)', () => {
    const firstMonday = new CrontabSchedule({ minute: 0, hour: 9, dayOfWeek: 1, dayOfMonth: '1-7' });
    expect(runs(firstMonday, '2024-01-02T00:00:00Z', 3)).toEqual([
      '2024-02-05T09:00:00Z',
      '2024-03-04T09:00:00Z',
      '2024-04-01T09:00:00Z',
    ]);
  });

  it('29 February on a Monday is decades away', () => {
    const rare = new CrontabSchedule({
      minute: 0,
      hour: 0,
      dayOfMonth: 29,
      monthOfYear: 'feb',
      dayOfWeek: 'mon',
    });
    expect(runs(rare, '2024-03-01T00:00:00Z', 2)).toEqual(['2044-02-29T00:00:00Z', '2072-02-29T00:00:00Z']);
  });

  it('day of week 0 is Sunday', () => {
    expect(iso(line('0 0 * * 0').nextAfter(at('2024-06-01T00:00:00Z')))).toBe('2024-06-02T00:00:00Z');
    expect(iso(line('0 0 * * sun').nextAfter(at('2024-06-01T00:00:00Z')))).toBe('2024-06-02T00:00:00Z');
  });

  it('weekdays at 8:30, ranges with steps and lists', () => {
    expect(runs(line('30 8 * * mon-fri'), '2024-06-07T09:00:00Z', 2)).toEqual([
      '2024-06-10T08:30:00Z',
      '2024-06-11T08:30:00Z',
    ]);
    expect(runs(line('0 9-17/4 * * *'), '2024-06-07T09:00:00Z', 3)).toEqual([
      '2024-06-07T13:00:00Z',
      '2024-06-07T17:00:00Z',
      '2024-06-08T09:00:00Z',
    ]);
    expect(runs(line('15,45 6 1,15 jan,jul *'), '2024-01-15T06:45:00Z', 2)).toEqual([
      '2024-07-01T06:15:00Z',
      '2024-07-01T06:45:00Z',
    ]);
  });
});

describe('crontab in a time zone, across DST', () => {
  it('reads the fields in the zone', () => {
    expect(iso(line('0 9 * * *', 'Europe/Berlin').nextAfter(at('2024-01-10T00:00:00Z')))).toBe(
      '2024-01-10T08:00:00Z',
    );
    expect(iso(line('0 9 * * *', 'Europe/Berlin').nextAfter(at('2024-07-10T00:00:00Z')))).toBe(
      '2024-07-10T07:00:00Z',
    );
    // Monday in Tokyo is still Sunday in UTC.
    expect(iso(line('0 1 * * mon', 'Asia/Tokyo').nextAfter(at('2024-06-01T00:00:00Z')))).toBe(
      '2024-06-02T16:00:00Z',
    );
  });

  it('Berlin spring forward: 02:30 runs when the gap ends, once', () => {
    // 2024-03-31 02:00 CET jumps to 03:00 CEST (01:00 UTC).
    expect(runs(line('30 2 * * *', 'Europe/Berlin'), '2024-03-30T02:00:00Z', 3)).toEqual([
      '2024-03-31T01:00:00Z',
      '2024-04-01T00:30:00Z',
      '2024-04-02T00:30:00Z',
    ]);
    expect(runs(line('*/20 2 * * *', 'Europe/Berlin'), '2024-03-31T00:00:00Z', 2)).toEqual([
      '2024-03-31T01:00:00Z',
      '2024-04-01T00:00:00Z',
    ]);
  });

  it('Berlin spring forward: every-hour schedules skip the missing hour and keep real time', () => {
    expect(runs(line('*/30 * * * *', 'Europe/Berlin'), '2024-03-31T00:15:00Z', 3)).toEqual([
      '2024-03-31T00:30:00Z', // 01:30 CET
      '2024-03-31T01:00:00Z', // 03:00 CEST
      '2024-03-31T01:30:00Z',
    ]);
  });

  it('Berlin fall back: a fixed time in the repeated hour runs once', () => {
    // 2024-10-27 03:00 CEST falls back to 02:00 CET (01:00 UTC): 02:xx happens twice.
    expect(runs(line('30 2 * * *', 'Europe/Berlin'), '2024-10-26T12:00:00Z', 2)).toEqual([
      '2024-10-27T00:30:00Z',
      '2024-10-28T01:30:00Z',
    ]);
  });

  it('Berlin fall back: every-hour schedules run in both passes', () => {
    expect(runs(line('0,30 * * * *', 'Europe/Berlin'), '2024-10-26T23:45:00Z', 5)).toEqual([
      '2024-10-27T00:00:00Z', // 02:00 CEST
      '2024-10-27T00:30:00Z',
      '2024-10-27T01:00:00Z', // 02:00 CET
      '2024-10-27T01:30:00Z',
      '2024-10-27T02:00:00Z', // 03:00 CET
    ]);
  });

  it('New York spring forward and fall back', () => {
    // 2024-03-10 02:00 EST -> 03:00 EDT (07:00 UTC).
    expect(runs(line('30 2 * * *', 'America/New_York'), '2024-03-09T12:00:00Z', 2)).toEqual([
      '2024-03-10T07:00:00Z',
      '2024-03-11T06:30:00Z',
    ]);
    // 2024-11-03 02:00 EDT -> 01:00 EST (06:00 UTC): 01:30 twice, runs at the first.
    expect(runs(line('30 1 * * *', 'America/New_York'), '2024-11-02T12:00:00Z', 2)).toEqual([
      '2024-11-03T05:30:00Z',
      '2024-11-04T06:30:00Z',
    ]);
    expect(runs(line('*/30 * * * *', 'America/New_York'), '2024-11-03T04:45:00Z', 5)).toEqual([
      '2024-11-03T05:00:00Z',
      '2024-11-03T05:30:00Z',
      '2024-11-03T06:00:00Z',
      '2024-11-03T06:30:00Z',
      '2024-11-03T07:00:00Z',
    ]);
  });

  it('a daily midnight run stays at local midnight across both changes', () => {
    const midnight = line('0 0 * * *', 'America/New_York');
    expect(runs(midnight, '2024-03-09T06:00:00Z', 2)).toEqual([
      '2024-03-10T05:00:00Z',
      '2024-03-11T04:00:00Z',
    ]);
    expect(runs(midnight, '2024-11-02T05:00:00Z', 2)).toEqual([
      '2024-11-03T04:00:00Z',
      '2024-11-04T05:00:00Z',
    ]);
  });

  it('serialises and describes itself', () => {
    const c = new CrontabSchedule({
      minute: 0,
      hour: [4, 16],
      dayOfWeek: 'mon-fri',
      timezone: 'Europe/Berlin',
    });
    expect(String(c)).toBe('crontab 0 4,16 * * mon-fri (Europe/Berlin)');
    expect(c.toJSON()).toEqual({
      type: 'crontab',
      minute: '0',
      hour: '4,16',
      dayOfWeek: 'mon-fri',
      dayOfMonth: '*',
      monthOfYear: '*',
      timezone: 'Europe/Berlin',
    });
  });
});
