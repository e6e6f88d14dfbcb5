import { expect, it } from 'vitest';
import type { BeatLease } from '../../src/beat/lease/lease.ts';
import { fakeBeat } from './fake-beat.ts';

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
      expect(await a.claim('e', 900, 1002)).toMatchObject({
        ok: false,
        reason: 'already-sent',
        lastSlotMs: 1000,
      });
      expect(await a.claim('other', 900, 1002)).toMatchObject({ ok: true });
      expect(await a.claim('e', 2000, 2001)).toEqual({ ok: true, previous: '1000:1001' });
      await a.unclaim('e', 2000, '1000:1001');
      expect(await a.claim('e', 2000, 2500)).toEqual({ ok: true, previous: '1000:1001' });
      // After a hand-over the new holder sees the old holder's records.
      await a.release();
      expect(await b.acquire()).toBe(true);
      expect(await b.claim('e', 2000, 3000)).toMatchObject({
        ok: false,
        reason: 'already-sent',
        lastSlotMs: 2000,
      });
      expect(await b.claim('e', 3000, 3001)).toMatchObject({ ok: true });
      expect(await a.claim('e', 4000, 4001)).toEqual({ ok: false, reason: 'not-leader' });
    } finally {
      await a.close();
      await b.close();
    }
  });

  it('two beats: a leader that lost its lease without noticing sends nothing; no slot is sent twice', async () => {
    // A long lease, so neither beat renews during the test: only the fencing check can stop A.
    const [leaseA, leaseB] = await makePair(60_000);
    const entries = { e: { task: 't', schedule: '1s' } };
    const a = fakeBeat(entries, { lease: leaseA });
    const b = fakeBeat(entries, { lease: leaseB });
    try {
      await a.at('2024-05-01T10:00:00Z');
      await b.at('2024-05-01T10:00:00Z');
      expect([a.beat.isLeader, b.beat.isLeader]).toEqual([true, false]);
      await a.at('2024-05-01T10:00:01Z');
      expect(a.sent).toHaveLength(1);
      // A stalls (GC pause, frozen VM) and its lease lapses: the same as it vanishing from the store.
      await leaseA.release();
      await b.at('2024-05-01T10:00:01Z'); // takes the lease; slot :01 is already sent, so it skips it
      await b.at('2024-05-01T10:00:02Z');
      expect(b.beat.isLeader).toBe(true);
      // A wakes still believing it leads and its slot :02 is due: the fencing check refuses.
      await a.at('2024-05-01T10:00:02Z');
      expect(a.beat.isLeader).toBe(false);
      const sends = [...a.sent, ...b.sent].map((s) => s.at);
      expect(sends).toEqual(['2024-05-01T10:00:01.000Z', '2024-05-01T10:00:02.000Z']);
    } finally {
      await a.close();
      await b.close();
    }
  });
}
