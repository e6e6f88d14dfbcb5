/** A rate limit string that does not parse (`'10/s'`, `'100/m'`, `'1/h'` or a number per second). */
export class RateLimitError extends Error {
  readonly code = 'RATE_LIMIT_INVALID';
  constructor(message: string) {
    super(message);
    this.name = 'RateLimitError';
  }
}

const PER: Record<string, number> = { s: 1, m: 60, h: 3600 };

/**
 * Tasks per second of a Celery rate limit (celery/utils/time.py `rate`): `'10/s'`, `'100/m'`,
 * `'1/h'`, or a bare number (per second). `0`, `''`, `null` and `undefined` mean no limit (0).
 */
export function parseRate(value: unknown): number {
  if (value === null || value === undefined || value === '') return 0;
  if (typeof value === 'number') {
    if (Number.isFinite(value) && value >= 0) return value;
    throw new RateLimitError(`rate limit must be a non-negative number, got ${value}`);
  }
  if (typeof value !== 'string') {
    throw new RateLimitError(`rate limit must be a string such as '10/s', got ${JSON.stringify(value)}`);
  }
  const match = /^\s*(\d+(?:\.\d+)?)\s*(?:\/\s*([smh]))?\s*$/.exec(value);
  if (!match) {
    throw new RateLimitError(
      `rate limit ${JSON.stringify(value)} does not parse: use '<n>/s', '<n>/m' or '<n>/h' (e.g. '10/s', '100/m', '1/h')`,
    );
  }
  return Number(match[1]) / PER[match[2] ?? 's']!;
}

/** kombu's TokenBucket: `capacity` tokens, refilled at `rate` per second. */
class TokenBucket {
  private tokens: number;
  private last: number;
  constructor(
    readonly rate: number,
    private readonly capacity = 1,
    now = Date.now(),
  ) {
    this.tokens = capacity;
    this.last = now;
  }

  /** Takes a token when one is there. */
  take(now: number): boolean {
    this.refill(now);
    if (this.tokens < 1) return false;
    this.tokens -= 1;
    return true;
  }

  /** Ms until the next token. */
  waitMs(now: number): number {
    this.refill(now);
    return this.tokens >= 1 ? 0 : Math.ceil(((1 - this.tokens) / this.rate) * 1000);
  }

  private refill(now: number): void {
    this.tokens = Math.min(this.capacity, this.tokens + ((now - this.last) / 1000) * this.rate);
    this.last = now;
  }
}

/**
 * Per-task rate limits (celery/worker/consumer/consumer.py `_limit_task`): a request over its
 * task's rate waits here, before it takes a pool slot, in FIFO order per task. One timer serves
 * every task. With no limit set, `admit` is one Map lookup.
 */
export class RateLimiter<T> {
  private readonly buckets = new Map<string, TokenBucket>();
  private readonly queues = new Map<string, T[]>();
  private timer: NodeJS.Timeout | undefined;
  private timerAt = 0;

  constructor(private readonly release: (item: T) => void) {}

  /** Sets (or with 0/''/null clears) a task's limit; throws RateLimitError for a bad string. */
  set(name: string, limit: unknown): void {
    const rate = parseRate(limit);
    if (rate === 0) this.buckets.delete(name);
    else this.buckets.set(name, new TokenBucket(rate));
    if (rate === 0) this.flush(name);
    this.reschedule();
  }

  /** Tasks per second for `name`, 0 when unlimited. */
  rate(name: string): number {
    return this.buckets.get(name)?.rate ?? 0;
  }

  /** True when the item may run now; else it is held and released later through `release`. */
  admit(name: string, item: T): boolean {
    if (this.buckets.size === 0) return true;
    const bucket = this.buckets.get(name);
    if (!bucket) return true;
    const queue = this.queues.get(name);
    if (!queue && bucket.take(Date.now())) return true;
    if (queue) queue.push(item);
    else this.queues.set(name, [item]);
    this.reschedule();
    return false;
  }

  get size(): number {
    let n = 0;
    for (const queue of this.queues.values()) n += queue.length;
    return n;
  }

  /** Every held item, oldest first per task (shutdown gives them back). */
  drain(): T[] {
    const out = [...this.queues.values()].flat();
    this.queues.clear();
    clearTimeout(this.timer);
    this.timer = undefined;
    return out;
  }

  /** Held items, for `inspect reserved`. */
  held(): T[] {
    return [...this.queues.values()].flat();
  }

  private flush(name: string): void {
    const queue = this.queues.get(name);
    if (!queue) return;
    this.queues.delete(name);
    for (const item of queue) this.release(item);
  }

  private readonly tick = (): void => {
    this.timer = undefined;
    const now = Date.now();
    for (const [name, queue] of [...this.queues]) {
      const bucket = this.buckets.get(name);
      if (!bucket) {
        this.flush(name);
        continue;
      }
      while (queue.length > 0 && bucket.take(now)) this.release(queue.shift()!);
      if (queue.length === 0) this.queues.delete(name);
    }
    this.reschedule();
  };

  private reschedule(): void {
    if (this.queues.size === 0) return;
    const now = Date.now();
    let wait = Infinity;
    for (const name of this.queues.keys()) {
      const bucket = this.buckets.get(name);
      wait = Math.min(wait, bucket ? bucket.waitMs(now) : 0);
    }
    const at = now + wait;
    if (this.timer && this.timerAt <= at) return;
    clearTimeout(this.timer);
    this.timerAt = at;
    this.timer = setTimeout(this.tick, Math.max(wait, 1));
  }
}
