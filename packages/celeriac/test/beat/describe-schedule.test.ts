import { describe, expect, it } from 'vitest';
import { ScheduleError } from '../../src/beat/errors.ts';
import { crontab, clocked, every, solar } from '../../src/beat/schedules/from-json.ts';
import { CrontabSchedule } from '../../src/beat/schedules/crontab.ts';
import { describeSchedule } from '../../src/beat/schedules/describe.ts';

/** `minute hour day_of_month month_of_year day_of_week`, read in UTC unless a zone is given. */
const cron = (line: string, timezone?: string) =>
  describeSchedule(CrontabSchedule.fromCronLine(line, timezone));

describe('describeSchedule: crontab', () => {
  it.each([
    ['* * * * *', 'every minute'],
    ['*/15 * * * *', 'every 15 minutes'],
    ['*/5 * * * *', 'every 5 minutes'],
    ['0,30 * * * *', 'every 30 minutes'],
    ['0 * * * *', 'every hour'],
    ['30 * * * *', 'every hour at minute 30'],
    ['0 */3 * * *', 'every 3 hours'],
    ['15 */6 * * *', 'at 00:15, 06:15, 12:15 and 18:15'],
    ['15 */2 * * *', 'every 2 hours at minute 15'],
    ['30 7 * * *', 'at 07:30'],
    ['30 7 * * 1', 'every Monday at 07:30'],
    ['30 7 * * mon', 'every Monday at 07:30'],
    ['0 9 * * 1-5', 'every Monday to Friday at 09:00'],
    ['0 9 * * sat,sun', 'every Saturday and Sunday at 09:00'],
    ['*/20 9 * * *', 'at 09:00, 09:20 and 09:40'],
    ['0 9 * * 0,6', 'every Saturday and Sunday at 09:00'],
    ['0 18 * * 1,3,5', 'every Monday, Wednesday and Friday at 18:00'],
    ['0 9 * * fri-mon', 'every Monday, Friday, Saturday and Sunday at 09:00'],
    ['0 0 1 * *', 'at 00:00 on day 1 of the month'],
    ['0 0 1,15 * *', 'at 00:00 on days 1 and 15 of the month'],
    ['0 0 1-7 * *', 'at 00:00 on days 1 to 7 of the month'],
    [
      '0 0 */2 * *',
      'at 00:00 on days 1, 3, 5, 7, 9, 11, 13, 15, 17, 19, 21, 23, 25, 27, 29 and 31 of the month',
    ],
    ['0 0 13 * 5', 'at 00:00 on day 13 of the month if it is a Friday'],
    ['0 0 1-7 * 1', 'at 00:00 on days 1 to 7 of the month if it is a Monday'],
    ['0 12 1 1 *', 'at 12:00 on day 1 of the month in January'],
    ['0 12 * 3-10 *', 'at 12:00 from March to October'],
    ['0 12 * 1,7 1', 'every Monday at 12:00 in January and July'],
    ['30 7,19 * * *', 'at 07:30 and 19:30'],
    ['0 9-17/2 * * *', 'at 09:00, 11:00, 13:00, 15:00 and 17:00'],
    ['0 9-17 * * *', 'every hour from 09:00 to 17:00'],
    ['*/15 9-17 * * 1-5', 'every 15 minutes from 09:00 to 17:59 on Monday to Friday'],
    ['* 3 * * *', 'every minute from 03:00 to 03:59'],
    ['*/10 */2 * * *', 'every 10 minutes of every 2nd hour'],
    ['*/7 * * * *', 'at minutes 0, 7, 14, 21, 28, 35, 42, 49 and 56 of every hour'],
    ['5-59/15 * * * *', 'at minutes 5, 20, 35 and 50 of every hour'],
    ['0,30 8,12,16,20 * * *', 'every 30 minutes in hours 8, 12, 16 and 20'],
    ['0 1,3,5,7,11,13,17 * * *', 'at minute 0 in hours 1, 3, 5, 7, 11, 13 and 17'],
    ['0 0 29 2 *', 'at 00:00 on day 29 of the month in February'],
  ])('%s → %s', (line, words) => {
    expect(cron(line)).toBe(words);
  });

  it('names a time zone other than UTC, or every zone when asked', () => {
    expect(cron('30 7 * * 1', 'Europe/Berlin')).toBe('every Monday at 07:30 (Europe/Berlin)');
    expect(describeSchedule(crontab({ minute: 0, hour: 0 }), { timezone: 'always' })).toBe('at 00:00 (UTC)');
    expect(
      describeSchedule(crontab({ minute: 0, hour: 0, timezone: 'Asia/Tokyo' }), { timezone: 'never' }),
    ).toBe('at 00:00');
  });

  it('reads the JSON form stores keep, lists and numbers included', () => {
    expect(
      describeSchedule({
        type: 'crontab',
        minute: '0',
        hour: '4',
        dayOfWeek: 'mon,wed',
        dayOfMonth: '*',
        monthOfYear: '*',
      }),
    ).toBe('every Monday and Wednesday at 04:00');
    expect(describeSchedule(crontab({ minute: [0, 30], hour: 6 }))).toBe('at 06:00 and 06:30');
  });

  it('throws the parser’s ScheduleError for an invalid field', () => {
    const bad = (minute: string) =>
      describeSchedule({
        type: 'crontab',
        minute,
        hour: '*',
        dayOfWeek: '*',
        dayOfMonth: '*',
        monthOfYear: '*',
      });
    expect(() => bad('61')).toThrow(ScheduleError);
    expect(() => bad('61')).toThrow(/crontab minute "61": 61 is out of range/);
    expect(() => bad('*/0')).toThrow(/step "0" must be a positive integer/);
  });
});

describe('describeSchedule: interval, solar, clocked', () => {
  it.each([
    ['1s', 'every second'],
    ['5s', 'every 5 seconds'],
    ['90s', 'every 90 seconds'],
    ['15m', 'every 15 minutes'],
    ['1h', 'every hour'],
    ['2h', 'every 2 hours'],
    ['1d', 'every day'],
    ['7d', 'every 7 days'],
    [1500, 'every 1.5 seconds'],
    [250, 'every 250 ms'],
  ] as const)('%s → %s', (interval, words) => {
    expect(describeSchedule(every(interval))).toBe(words);
  });

  it('says which solar event and where', () => {
    expect(describeSchedule(solar('sunset', 52.52, 13.405))).toBe('every day at sunset at 52.52°N 13.405°E');
    expect(describeSchedule(solar('dawn_civil', -33.87, -70.6))).toBe(
      'every day at civil dawn at 33.87°S 70.6°W',
    );
  });

  it('gives a clocked time in UTC', () => {
    expect(describeSchedule(clocked('2030-01-01T09:30:00+01:00'))).toBe('once at 2030-01-01 08:30 UTC');
  });
});
