import { describe, expect, it } from 'vitest';
import { coveringSend } from '../../src/beat/lease/covered-slot.ts';
import { formatRecord } from '../../src/beat/lease/lease.ts';
import { IntervalSchedule } from '../../src/beat/schedules/interval.ts';

describe('coveringSend (a new leader on another slot grid)', () => {
  const everySecond = { nextAfter: (ms: number) => ms + 1000 };

  it('a slot less than one interval after the last send is covered by it', () => {
    expect(coveringSend(everySecond, formatRecord(10_822, 10_830), 11_655)).toEqual({
      slotMs: 10_822,
      runAtMs: 10_830,
    });
  });

  it('the next slot on the grid, a later one, no record, or an equal/earlier slot are not', () => {
    expect(coveringSend(everySecond, formatRecord(10_822, 10_830), 11_822)).toBeUndefined();
    expect(coveringSend(everySecond, formatRecord(10_822, 10_830), 13_000)).toBeUndefined();
    expect(coveringSend(everySecond, undefined, 11_655)).toBeUndefined();
    // Equal or earlier slots are the fencing record's own "already sent" case, not this one.
    expect(coveringSend(everySecond, formatRecord(10_822, 10_830), 10_822)).toBeUndefined();
  });

  it('works with a real interval schedule', () => {
    const every5s = new IntervalSchedule('5s');
    expect(coveringSend(every5s, formatRecord(1_000, 1_004), 4_000)).toEqual({
      slotMs: 1_000,
      runAtMs: 1_004,
    });
    expect(coveringSend(every5s, formatRecord(1_000, 1_004), 6_000)).toBeUndefined();
  });
});
