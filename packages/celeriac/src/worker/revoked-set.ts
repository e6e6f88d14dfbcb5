/**
 * The revoked ids a worker remembers: at most `maxSize` ids, each for `ttlMs`
 * (Celery's `LimitedSet(maxlen=50000, expires=10800)` in celery/worker/state.py).
 * A Map keeps insertion order, so the oldest entries are the first to go.
 */
export class RevokedSet {
  private readonly ids = new Map<string, number>();

  constructor(
    private readonly maxSize = 50_000,
    private readonly ttlMs = 3 * 3_600_000,
  ) {}

  get size(): number {
    return this.ids.size;
  }

  add(id: string, now = Date.now()): void {
    this.ids.delete(id);
    this.ids.set(id, now + this.ttlMs);
    this.purge(now);
  }

  has(id: string): boolean {
    if (this.ids.size === 0) return false;
    const expiresAt = this.ids.get(id);
    if (expiresAt === undefined) return false;
    if (expiresAt > Date.now()) return true;
    this.ids.delete(id);
    return false;
  }

  list(): string[] {
    this.purge(Date.now());
    return [...this.ids.keys()];
  }

  private purge(now: number): void {
    for (const [id, expiresAt] of this.ids) {
      if (this.ids.size <= this.maxSize && expiresAt > now) break;
      this.ids.delete(id);
    }
  }
}
