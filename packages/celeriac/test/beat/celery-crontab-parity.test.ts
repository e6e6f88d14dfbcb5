import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { CrontabSchedule } from '../../src/beat/schedules/crontab.ts';
import { PYTHON, pythonCeleryVersion } from '../../../../test/interop/harness.ts';

const SPECS: Array<Record<string, string | number>> = [
  { minute: '*/15' },
  { minute: 0, hour: '*/3' },
  { minute: '10-20/5', hour: '1-3' },
  { minute: 0, hour: 0, day_of_week: 'sun' },
  { minute: 0, hour: 9, day_of_week: 1, day_of_month: '1-7' },
  { minute: 0, hour: 12, day_of_month: 29, month_of_year: 2 },
  { minute: 0, hour: 0, day_of_month: 31 },
  { minute: 30, hour: 8, day_of_week: 'mon-fri' },
  { minute: '5,35', hour: '22-2' },
  { minute: 0, hour: 0, day_of_month: '1,15', month_of_year: '*/3' },
  { minute: 59, hour: 23, day_of_month: '28-31' },
  { minute: 0, hour: 6, day_of_week: 'fri-mon' },
];
const AFTER = [
  '2024-01-31T23:59:00Z',
  '2024-02-28T12:00:00Z',
  '2024-12-31T23:30:00Z',
  '2025-06-15T07:07:00Z',
];
const CASES = SPECS.flatMap((spec) => AFTER.map((after) => [spec, after] as const));

const ours = (spec: Record<string, string | number>, after: string) =>
  new Date(
    new CrontabSchedule({
      minute: spec.minute,
      hour: spec.hour,
      dayOfWeek: spec.day_of_week,
      dayOfMonth: spec.day_of_month,
      monthOfYear: spec.month_of_year,
    }).nextAfter(Date.parse(after))!,
  )
    .toISOString()
    .replace('.000Z', 'Z');

describe.skipIf(!pythonCeleryVersion())('crontab next run agrees with Python Celery 5.2 (UTC)', () => {
  it(`${CASES.length} cases: every field form, month ends, leap day, first Monday`, async () => {
    const script = fileURLToPath(new URL('./fixtures/celery_crontab.py', import.meta.url));
    const { stdout } = await promisify(execFile)(PYTHON, [script, JSON.stringify(CASES)]);
    const celery = JSON.parse(stdout) as string[];
    const mismatches = CASES.map(([spec, after], i) => ({
      spec,
      after,
      celery: celery[i],
      ours: ours(spec, after),
    })).filter((c) => c.celery !== c.ours);
    expect(mismatches).toEqual([]);
  });
});
