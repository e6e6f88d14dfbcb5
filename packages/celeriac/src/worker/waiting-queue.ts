/**
 * A FIFO with a moving head: `Array.shift()` is O(n), and a worker may hold tens of thousands
 * of accepted requests while its pool is busy.
 */
export class WaitingQueue<T> {
  private items_: Array<T | undefined> = [];
  private head = 0;

  get size(): number {
    return this.items_.length - this.head;
  }

  push(item: T): void {
    this.items_.push(item);
  }

  shift(): T | undefined {
    if (this.head >= this.items_.length) return undefined;
    const item = this.items_[this.head];
    this.items_[this.head++] = undefined;
    // Compact once the consumed prefix is most of the array.
    if (this.head > 1024 && this.head * 2 > this.items_.length) {
      this.items_ = this.items_.slice(this.head);
      this.head = 0;
    }
    return item;
  }

  /** The items, oldest first, without removing them. */
  items(): T[] {
    return this.items_.slice(this.head) as T[];
  }

  /** Removes and returns every item, oldest first. */
  drain(): T[] {
    const out = this.items();
    this.items_ = [];
    this.head = 0;
    return out;
  }
}
