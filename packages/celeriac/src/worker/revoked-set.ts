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

  /** Adds `id` with its own expiry time (restored from a statedb or a peer), unless already past. */
  restore(id: string, expiresAt: number, now = Date.now()): void {
    if (!(expiresAt > now)) return;
    const current = this.ids.get(id);
    if (current !== undefined && current >= expiresAt) return;
    this.ids.delete(id);
    this.ids.set(id, Math.min(expiresAt, now + this.ttlMs));
    this.purge(now);
  }

  /** `[id, expiresAt]` pairs, oldest first, without expired ones. */
  entries(): Array<[string, number]> {
    this.purge(Date.now());
    return [...this.ids];
  }

  /** When `id` was revoked (epoch ms), as Celery's LimitedSet `_data` holds it; undefined if absent. */
  revokedAt(id: string): number | undefined {
    const expiresAt = this.ids.get(id);
    return expiresAt === undefined ? undefined : expiresAt - this.ttlMs;
  }

  get ttl(): number {
    return this.ttlMs;
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
