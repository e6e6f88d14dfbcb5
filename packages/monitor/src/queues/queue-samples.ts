/** One reading of a queue's backlog (ready + unacked). */
interface Sample {
  at: number;
  backlog: number;
}

/**
 * A small ring of backlog samples per queue: enough for the trend over the last minute, whatever
 * the sampling interval, and nothing older. The trend (messages/s) is what sampled counts can tell:
 * the backlog growing (publishers ahead) or shrinking (consumers ahead); publish and deliver rates
 * apart need the broker's own counters (management API).
 */
export class QueueSamples {
  private readonly rings = new Map<string, Sample[]>();

  constructor(
    private readonly windowMs = 60_000,
    private readonly capacity = 64,
  ) {}

  add(queue: string, backlog: number, at = Date.now()): void {
    let ring = this.rings.get(queue);
    if (!ring) this.rings.set(queue, (ring = []));
    // At most one sample a second: a page polled often must not squeeze the window to a few seconds.
    const last = ring[ring.length - 1];
    if (last && ring.length > 1 && at - ring[ring.length - 2]!.at < 1000)
      ring[ring.length - 1] = { at, backlog };
    else ring.push({ at, backlog });
    while (ring.length > this.capacity || (ring[0] && ring[0].at < at - this.windowMs)) ring.shift();
  }

  /** Backlog change per second over the window; null until two samples are 2 s apart. */
  trend(queue: string): number | null {
    const ring = this.rings.get(queue);
    const first = ring?.[0];
    const last = ring?.[ring.length - 1];
    if (!first || !last || last.at - first.at < 2000) return null;
    return (last.backlog - first.backlog) / ((last.at - first.at) / 1000);
  }

  /** How many seconds the trend spans. */
  span(queue: string): number {
    const ring = this.rings.get(queue);
    return ring && ring.length > 1 ? (ring[ring.length - 1]!.at - ring[0]!.at) / 1000 : 0;
  }

  forget(queue: string): void {
    this.rings.delete(queue);
  }
}
