import { expect, it } from 'vitest';
import type { BeatLease } from '../../src/beat/lease/lease.ts';

/**
 * The behaviour every BeatLease must show; each implementation runs it in one line:
 * `leaseConformance(() => makeTwoLeasesOnOneKey(leaseMs))`.
 */
export function leaseConformance(makePair: (leaseMs: number) => Promise<[BeatLease, BeatLease]>): void {
  it('lease: one holder at a time; renew keeps it; release hands it over; a lapsed lease is taken', async () => {
    const [a, b] = await makePair(400);
    try {
      expect(await a.acquire()).toBe(true);
      expect(await b.acquire()).toBe(false);
      expect(await a.acquire()).toBe(true);
      await a.release();
      expect(await b.acquire()).toBe(true);
      expect(await a.acquire()).toBe(false);
      await new Promise((r) => setTimeout(r, 500));
      expect(await a.acquire()).toBe(true);
      expect(await b.acquire()).toBe(false);
    } finally {
      await a.close();
      await b.close();
    }
  });

  it('lease: claim checks the holder and the slot in one step; unclaim gives a failed slot back', async () => {
    const [a, b] = await makePair(5000);
    try {
      expect(await a.acquire()).toBe(true);
      expect(await b.claim('e', 1000, 1001)).toEqual({ ok: false, reason: 'not-leader' });
      expect(await a.claim('e', 1000, 1001)).toEqual({ ok: true, previous: undefined });
      expect(await a.claim('e', 1000, 1002)).toEqual({
        ok: false,
        reason: 'already-sent',
        lastSlotMs: 1000,
        lastRunAtMs: 1001,
      });
      expect(await a.claim('e', 900, 1002)).toMatchObject({ ok: false, reason: 'already-sent', lastSlotMs: 1000 });
      expect(await a.claim('other', 900, 1002)).toMatchObject({ ok: true });
      expect(await a.claim('e', 2000, 2001)).toEqual({ ok: true, previous: '1000:1001' });
      await a.unclaim('e', 2000, '1000:1001');
      expect(await a.claim('e', 2000, 2500)).toEqual({ ok: true, previous: '1000:1001' });
      // After a hand-over the new holder sees the old holder's records.
      await a.release();
      expect(await b.acquire()).toBe(true);
      expect(await b.claim('e', 2000, 3000)).toMatchObject({ ok: false, reason: 'already-sent', lastSlotMs: 2000 });
      expect(await b.claim('e', 3000, 3001)).toMatchObject({ ok: true });
      expect(await a.claim('e', 4000, 4001)).toEqual({ ok: false, reason: 'not-leader' });
    } finally {
      await a.close();
      await b.close();
    }
  });
}
