import { formatRecord, parseRecord, type BeatLease, type Claim } from './lease.ts';

/** One beat on its own: always the leader; the fencing record lives in memory. */
export class LocalLease implements BeatLease {
  readonly description = 'local';
  readonly leaseMs = Infinity;
  readonly holder = `local-${process.pid}`;
  private readonly records = new Map<string, string>();

  async acquire(): Promise<boolean> {
    return true;
  }

  async claim(entryName: string, slotMs: number, runAtMs: number): Promise<Claim> {
    const previous = this.records.get(entryName);
    const prev = parseRecord(previous);
    if (prev && prev.slotMs >= slotMs) {
      return { ok: false, reason: 'already-sent', lastSlotMs: prev.slotMs, lastRunAtMs: prev.runAtMs };
    }
    this.records.set(entryName, formatRecord(slotMs, runAtMs));
    return { ok: true, previous };
  }

  async unclaim(entryName: string, _slotMs: number, previous: string | undefined): Promise<void> {
    if (previous === undefined) this.records.delete(entryName);
    else this.records.set(entryName, previous);
  }

  async release(): Promise<void> {}
  async close(): Promise<void> {}
}
