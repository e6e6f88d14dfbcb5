import { describe, expect, it } from 'vitest';
import { resolveEntry, toSchedule, nextDue } from '../../src/beat/entry.ts';
import { BeatEntryError, ScheduleError } from '../../src/beat/errors.ts';
import { ClockedSchedule, IntervalSchedule } from '../../src/beat/schedules/interval.ts';
import { SolarSchedule } from '../../src/beat/schedules/solar.ts';
import { scheduleFromJson } from '../../src/beat/schedules/from-json.ts';

const at = (iso: string) => Date.parse(iso);
const minutesApart = (a: number | null, iso: string) => Math.abs((a ?? NaN) - at(iso)) / 60_000;

describe('interval', () => {
  it('runs every period after the last run', () => {
    const s = new IntervalSchedule('5s');
    expect(s.nextAfter(1000)).toBe(6000);
    expect(s.firstRun(1000)).toBe(6000);
    expect(new IntervalSchedule(250).everyMs).toBe(250);
    expect(String(new IntervalSchedule('2m'))).toBe('every 2m');
  });

  it.each([['5x'], [0], ['0s'], [-1], ['']])('rejects %j', (bad) => {
    expect(() => new IntervalSchedule(bad as never)).toThrow(ScheduleError);
  });
});

describe('clocked', () => {
  it('fires once, even when its time is already past', () => {
    const s = new ClockedSchedule('2024-01-01T09:00:00Z');
    expect(s.firstRun()).toBe(at('2024-01-01T09:00:00Z'));
    expect(s.nextAfter(at('2024-01-01T08:00:00Z'))).toBe(at('2024-01-01T09:00:00Z'));
    expect(s.nextAfter(at('2024-01-01T09:00:00Z'))).toBeNull();
  });

  it('rejects a non-date', () => {
    expect(() => new ClockedSchedule('tomorrow-ish')).toThrow(/clocked time "tomorrow-ish" is not a date/);
  });
});

describe('solar', () => {
  it('sunrise and sunset in Berlin at midsummer (04:43 and 21:33 CEST)', () => {
    const from = at('2024-06-21T00:00:00Z');
    expect(
      minutesApart(new SolarSchedule('sunrise', 52.52, 13.405).nextAfter(from), '2024-06-21T02:43:00Z'),
    ).toBeLessThan(2);
    expect(
      minutesApart(new SolarSchedule('sunset', 52.52, 13.405).nextAfter(from), '2024-06-21T19:33:00Z'),
    ).toBeLessThan(2);
    const noon = new SolarSchedule('solar_noon', 52.52, 13.405).nextAfter(from);
    expect(minutesApart(noon, '2024-06-21T11:08:00Z')).toBeLessThan(2);
  });

  it('twilight variants come in order around sunrise', () => {
    const from = at('2024-03-20T00:00:00Z');
    const times = (['dawn_astronomical', 'dawn_nautical', 'dawn_civil', 'sunrise'] as const).map((e) =>
      new SolarSchedule(e, 48.85, 2.35).nextAfter(from)!,
    );
    expect([...times].sort((a, b) => a - b)).toEqual(times);
    const dusks = (['sunset', 'dusk_civil', 'dusk_nautical', 'dusk_astronomical'] as const).map((e) =>
      new SolarSchedule(e, 48.85, 2.35).nextAfter(from)!,
    );
    expect([...dusks].sort((a, b) => a - b)).toEqual(dusks);
  });

  it('the next day once today has passed, in whole seconds after the given instant', () => {
    const s = new SolarSchedule('sunrise', 52.52, 13.405);
    const first = s.nextAfter(at('2024-06-21T00:00:00Z'))!;
    const second = s.nextAfter(first)!;
    expect(first % 1000).toBe(0);
    expect(second - first).toBeGreaterThan(23.9 * 3_600_000);
    expect(second - first).toBeLessThan(24.1 * 3_600_000);
  });

  it('polar night: no sunrise in Tromsø until mid January', () => {
    const sunrise = new SolarSchedule('sunrise', 69.65, 18.96).nextAfter(at('2024-12-01T00:00:00Z'))!;
    expect(sunrise).toBeGreaterThan(at('2025-01-10T00:00:00Z'));
    expect(sunrise).toBeLessThan(at('2025-01-20T00:00:00Z'));
  });

  it.each([
    ['moonrise', 0, 0, /solar event "moonrise" is not one of dawn_astronomical/],
    ['sunrise', 91, 0, /latitude 91 must be a number in -90..90/],
    ['sunrise', 0, -181, /longitude -181 must be a number in -180..180/],
  ] as const)('rejects %s at (%d, %d)', (event, lat, lon, message) => {
    expect(() => new SolarSchedule(event as never, lat, lon)).toThrow(message);
  });
});

describe('schedule input forms', () => {
  it('accepts every form and round-trips JSON', () => {
    const forms = [
      '5s',
      { every: 5000 },
      { crontab: '*/5 * * * *' },
      { crontab: { minute: '*/5', dayOfWeek: 'mon' } },
      { solar: 'sunset' as const, latitude: 1, longitude: 2 },
      { clocked: '2030-01-01T00:00:00Z' },
    ];
    for (const form of forms) {
      const s = toSchedule(form, 'Europe/Berlin');
      expect(scheduleFromJson(s.toJSON()).toJSON()).toEqual(s.toJSON());
    }
    expect(String(toSchedule({ crontab: '0 4 * * *' }, 'Europe/Berlin'))).toBe(
      'crontab 0 4 * * * (Europe/Berlin)',
    );
  });

  it('rejects a bare number (seconds or ms?) and unknown shapes', () => {
    expect(() => toSchedule(5 as never)).toThrow(/bare number is ambiguous; write \{ every: '5s' \}/);
    expect(() => toSchedule({ hourly: true } as never)).toThrow(ScheduleError);
    expect(() => scheduleFromJson({ type: 'weekly' } as never)).toThrow(/no known type/);
  });
});

describe('entries', () => {
  it('resolves a Celery-like entry', () => {
    const e = resolveEntry('add-every-5s', {
      task: 'tasks.add',
      schedule: { every: '5s' },
      args: [14, 15],
      queue: 'periodic',
      priority: 3,
      headers: { a: 1 },
      expires: 30,
    });
    expect(e).toMatchObject({
      name: 'add-every-5s',
      task: 'tasks.add',
      args: [14, 15],
      kwargs: {},
      options: { queue: 'periodic', priority: 3, headers: { a: 1 } },
      expireSeconds: 30,
      oneOff: false,
      enabled: true,
    });
    expect(Object.isFrozen(e)).toBe(true);
    expect(resolveEntry('c', { task: 't', schedule: { clocked: 0 } }).oneOff).toBe(true);
  });

  it.each([
    [{ schedule: '5s' }, /beat entry "bad": task must be a non-empty task name/],
    [{ task: 't', schedule: '5s', args: 'x' }, /args must be an array/],
    [{ task: 't', schedule: '5s', kwargs: [] }, /kwargs must be an object/],
    [
      { task: 't', schedule: { crontab: '61 * * * *' } },
      /beat entry "bad": crontab minute "61": 61 is out of range \(allowed: 0-59/,
    ],
    [{ task: 't', schedule: { crontab: { hour: 1 } }, startTime: 'soon' }, /startTime "soon" is not a date/],
    [{ task: 't', schedule: '5s', expires: -3 }, /expires -3 must be a positive number of seconds/],
    [
      { task: 't', schedule: { crontab: { minute: 0, timezone: 'Nowhere/City' } } },
      /unknown time zone "Nowhere\/City"/,
    ],
  ])('rejects %j', (def, message) => {
    expect(() => resolveEntry('bad', def as never)).toThrow(BeatEntryError);
    expect(() => resolveEntry('bad', def as never)).toThrow(message);
  });

  it('start time and expiry bound the due time', () => {
    const now = at('2024-01-01T00:00:00Z');
    const later = resolveEntry('x', { task: 't', schedule: '1m', startTime: '2024-01-02T00:00:00Z' });
    expect(nextDue(later, { totalRunCount: 0 }, now)).toBe(at('2024-01-02T00:00:00Z'));
    const cron = resolveEntry('y', {
      task: 't',
      schedule: { crontab: '30 * * * *' },
      startTime: '2024-01-02T00:00:00Z',
    });
    expect(nextDue(cron, { totalRunCount: 0 }, now)).toBe(at('2024-01-02T00:30:00Z'));
    const over = resolveEntry('z', { task: 't', schedule: '1h', expires: '2024-01-01T00:30:00Z' });
    expect(nextDue(over, { totalRunCount: 0 }, now)).toBeNull();
    expect(nextDue(over, { totalRunCount: 0, enabled: false }, now)).toBeNull();
  });
});
