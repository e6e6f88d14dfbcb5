/**
 * `--autoscale max,min` (celery/worker/autoscale.py): every second, grow the pool toward `max`
 * when requests wait for a slot, and shrink it by one toward `min` once slots have been idle for
 * `keepaliveMs` (Celery's AUTOSCALE_KEEPALIVE, 30 s). One timer, unref'd.
 */
export interface AutoscaleTarget {
  concurrency(): number;
  /** Requests waiting for a slot. */
  waitingCount(): number;
  activeCount(): number;
  resizePool(delta: number): number;
}

export class Autoscaler {
  private timer: NodeJS.Timeout | undefined;
  private lastBusy = Date.now();

  constructor(
    private readonly target: AutoscaleTarget,
    public max: number,
    public min: number,
    private readonly keepaliveMs = 30_000,
    private readonly intervalMs = 1_000,
  ) {
    Autoscaler.check(max, min);
  }

  /** Throws RangeError unless 1 <= min <= max. */
  static check(max: number, min: number): void {
    if (!Number.isInteger(max) || !Number.isInteger(min) || min < 1 || max < min)
      throw new RangeError(`autoscale needs integers max >= min >= 1, got max=${max} min=${min}`);
  }

  start(): void {
    this.timer ??= setInterval(() => this.tick(), this.intervalMs);
    this.timer.unref();
  }

  stop(): void {
    clearInterval(this.timer);
    this.timer = undefined;
  }

  /** `autoscale` control command: new bounds, applied at the next tick. */
  update(max: number, min: number): void {
    Autoscaler.check(max, min);
    this.max = max;
    this.min = min;
  }

  tick(now = Date.now()): void {
    const size = this.target.concurrency();
    const waiting = this.target.waitingCount();
    if (waiting > 0 || this.target.activeCount() >= size) this.lastBusy = now;
    if (size < this.min) this.target.resizePool(this.min - size);
    else if (size > this.max) this.target.resizePool(this.max - size);
    else if (waiting > 0 && size < this.max) this.target.resizePool(Math.min(this.max - size, waiting));
    else if (size > this.min && now - this.lastBusy >= this.keepaliveMs) {
      this.target.resizePool(-1);
      this.lastBusy = now; // one step per keepalive, as Celery's scale_down
    }
  }
}
