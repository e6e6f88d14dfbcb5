/** The answer to "may I send this slot?" */
export type Claim =
  | { readonly ok: true; readonly previous: string | undefined }
  /** Another beat holds the lease now: stop sending until it is ours again. */
  | { readonly ok: false; readonly reason: 'not-leader' }
  /** This slot (or a later one) was already sent, by whichever beat: adopt its record. */
  | {
      readonly ok: false;
      readonly reason: 'already-sent';
      readonly lastSlotMs: number;
      readonly lastRunAtMs: number;
    };

/**
 * Leadership among several beat processes, and the fencing record of what was sent.
 * `acquire()` takes or renews a lease that lapses `leaseMs` after the holder last renewed it;
 * `claim()` atomically checks the lease is still ours and that no beat sent this slot (or a
 * later one) of the entry, and records it. Only a successful claim may be followed by a send.
 */
export interface BeatLease {
  /** For logs: `redis:celeriac:beat`, `local`. */
  readonly description: string;
  /** The lease lapses this long after the holder's last renewal; another beat takes over then. */
  readonly leaseMs: number;
  /** Who we are in the lease (host, pid and a random part). */
  readonly holder: string;
  /** Takes or renews the lease; true while this process holds it. */
  acquire(): Promise<boolean>;
  /** Fencing check and record, in one atomic step. */
  claim(entryName: string, slotMs: number, runAtMs: number): Promise<Claim>;
  /** Undoes a claim whose send failed, so the slot is retried (by us or the next leader). */
  unclaim(entryName: string, slotMs: number, previous: string | undefined): Promise<void>;
  /** Gives the lease up at once (on a clean stop), so another beat need not wait for it to lapse. */
  release(): Promise<void>;
  close(): Promise<void>;
}

/** The fencing record's text form: `<slotMs>:<runAtMs>`. */
export function formatRecord(slotMs: number, runAtMs: number): string {
  return `${Math.round(slotMs)}:${Math.round(runAtMs)}`;
}

export function parseRecord(
  text: string | undefined | null,
): { slotMs: number; runAtMs: number } | undefined {
  const m = text ? /^(\d+):(\d+)$/.exec(text) : null;
  return m ? { slotMs: Number(m[1]), runAtMs: Number(m[2]) } : undefined;
}
