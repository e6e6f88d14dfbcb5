/**
 * A Lamport clock, as kombu's `kombu/clocks.py` `LamportClock`: every message we send carries
 * `forward()`, every message we receive moves us past the sender with `adjust(theirs)`. Remote
 * control replies and events carry it in their `clock` field or header.
 */
export class LamportClock {
  constructor(private current = 0) {}

  get value(): number {
    return this.current;
  }

  /** Ticks and returns the new value (a local event or a send). */
  forward(): number {
    return ++this.current;
  }

  /** Moves past another node's clock on receive; returns the new value. */
  adjust(other: unknown): number {
    const theirs = typeof other === 'number' && Number.isFinite(other) ? other : Number(other) || 0;
    this.current = Math.max(this.current, theirs) + 1;
    return this.current;
  }
}
