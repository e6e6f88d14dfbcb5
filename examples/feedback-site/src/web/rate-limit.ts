/**
 * Fixed-window counters per key (a client address, a recipient address), in memory: enough for
 * one site process. Several site processes would share a Redis counter instead.
 */
export class RateLimiter {
  private readonly windows = new Map<string, { count: number; resetAt: number }>();

  constructor(
    readonly max: number,
    readonly windowMs: number,
    private readonly now: () => number = Date.now,
  ) {}

  /** Counts one hit on every key; refused (counting nothing) when any key is over its limit. */
  hit(keys: readonly string[]): { ok: true } | { ok: false; retryAfterMs: number } {
    const now = this.now();
    if (this.windows.size > 10_000) this.sweep(now);
    let retryAfterMs = 0;
    for (const key of keys) {
      const w = this.windows.get(key);
      if (w && w.resetAt > now && w.count >= this.max) retryAfterMs = Math.max(retryAfterMs, w.resetAt - now);
    }
    if (retryAfterMs > 0) return { ok: false, retryAfterMs };
    for (const key of keys) {
      const w = this.windows.get(key);
      if (!w || w.resetAt <= now) this.windows.set(key, { count: 1, resetAt: now + this.windowMs });
      else w.count++;
    }
    return { ok: true };
  }

  private sweep(now: number): void {
    for (const [key, w] of this.windows) if (w.resetAt <= now) this.windows.delete(key);
  }
}
