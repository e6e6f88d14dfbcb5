import { describe, expect, it } from 'vitest';
import { lastSendToAdopt } from '../../src/beat/lease/covered-slot.ts';
import { formatRecord } from '../../src/beat/lease/lease.ts';
import { IntervalSchedule } from '../../src/beat/schedules/interval.ts';

describe('lastSendToAdopt (a new beat leader on another slot grid)', () => {
  const everySecond = new IntervalSchedule('1s');
  const last = formatRecord(10_822, 10_830);

  it('a slot less than one period after the last send: adopt it (else a doubled run)', () => {
    expect(lastSendToAdopt(everySecond, last, 11_655, false)).toEqual({ slotMs: 10_822, runAtMs: 10_830 });
    expect(lastSendToAdopt(everySecond, last, 11_655, true)).toEqual({ slotMs: 10_822, runAtMs: 10_830 });
  });

  it('a slot past the next one: adopt it only when catching up (else the periods between are missed)', () => {
    expect(lastSendToAdopt(everySecond, last, 12_655, true)).toEqual({ slotMs: 10_822, runAtMs: 10_830 });
    expect(lastSendToAdopt(everySecond, last, 12_655, false)).toBeUndefined();
  });

  it('the next slot on the grid, no record, or an equal or earlier slot: nothing to adopt', () => {
    expect(lastSendToAdopt(everySecond, last, 11_822, true)).toBeUndefined();
    expect(lastSendToAdopt(everySecond, undefined, 11_655, true)).toBeUndefined();
    // Equal or earlier slots are the fencing record's own "already sent" answer, not this one.
    expect(lastSendToAdopt(everySecond, last, 10_822, true)).toBeUndefined();
  });
});
