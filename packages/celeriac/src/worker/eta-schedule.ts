/**
 * Items held until a due time: a binary min-heap with ONE timer armed for the earliest item,
 * so a thousand held ETA messages cost one timer, not a thousand (Celery keeps a timer entry
 * per ETA request in its `Timer`; we only need the head).
 */
export class EtaSchedule<T> {
  private readonly heap: Array<{ dueAt: number; seq: number; item: T }> = [];
  private timer: NodeJS.Timeout | undefined;
  private timerDueAt = Infinity;
  private seq = 0;

  /** `onDue` gets each item once its time has come, earliest first. */
  constructor(private readonly onDue: (item: T) => void) {}

  get size(): number {
    return this.heap.length;
  }

  add(dueAt: number, item: T): void {
    const heap = this.heap;
    heap.push({ dueAt, seq: this.seq++, item });
    let i = heap.length - 1;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (!this.less(i, parent)) break;
      this.swap(i, parent);
      i = parent;
    }
    this.arm();
  }

  /** Every held item with its due time, earliest first (for `inspect scheduled`). */
  entries(): Array<{ dueAt: number; item: T }> {
    return [...this.heap]
      .sort((a, b) => a.dueAt - b.dueAt || a.seq - b.seq)
      .map(({ dueAt, item }) => ({ dueAt, item }));
  }

  /** Removes and returns every held item, disarming the timer (shutdown). */
  drain(): T[] {
    const items = this.entries().map((e) => e.item);
    this.heap.length = 0;
    this.disarm();
    return items;
  }

  /** Removes the items matching `predicate` (e.g. a revoked id). */
  remove(predicate: (item: T) => boolean): T[] {
    const kept = this.heap.filter((e) => !predicate(e.item));
    const removed = this.heap.filter((e) => predicate(e.item)).map((e) => e.item);
    if (removed.length === 0) return removed;
    this.heap.length = 0;
    this.disarm();
    for (const e of kept) this.add(e.dueAt, e.item);
    return removed;
  }

  private pop(): T | undefined {
    const heap = this.heap;
    const top = heap[0];
    if (!top) return undefined;
    const last = heap.pop()!;
    if (heap.length > 0) {
      heap[0] = last;
      let i = 0;
      for (;;) {
        const l = 2 * i + 1;
        const r = l + 1;
        let smallest = i;
        if (l < heap.length && this.less(l, smallest)) smallest = l;
        if (r < heap.length && this.less(r, smallest)) smallest = r;
        if (smallest === i) break;
        this.swap(i, smallest);
        i = smallest;
      }
    }
    return top.item;
  }

  private readonly fire = (): void => {
    this.timer = undefined;
    this.timerDueAt = Infinity;
    const now = Date.now();
    while (this.heap.length > 0 && this.heap[0]!.dueAt <= now) this.onDue(this.pop()!);
    this.arm();
  };

  private arm(): void {
    const head = this.heap[0];
    if (!head) return this.disarm();
    if (head.dueAt >= this.timerDueAt && this.timer) return;
    this.disarm();
    this.timerDueAt = head.dueAt;
    // setTimeout caps at 2^31-1 ms (~24.8 days); a far head just re-arms when the timer fires.
    this.timer = setTimeout(this.fire, Math.min(2_147_483_647, Math.max(0, head.dueAt - Date.now())));
  }

  private disarm(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    this.timerDueAt = Infinity;
  }

  private less(a: number, b: number): boolean {
    const x = this.heap[a]!;
    const y = this.heap[b]!;
    return x.dueAt < y.dueAt || (x.dueAt === y.dueAt && x.seq < y.seq);
  }

  private swap(a: number, b: number): void {
    const heap = this.heap;
    const t = heap[a]!;
    heap[a] = heap[b]!;
    heap[b] = t;
  }
}
