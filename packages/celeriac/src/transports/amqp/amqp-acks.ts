/** What the batcher sends on its channel. */
export interface AckSink {
  ack(deliveryTag: number, multiple: boolean): void;
  reject(deliveryTag: number, requeue: boolean): void;
}

/**
 * Batches acks for one consumer channel. Tasks finish out of order, and `basic.ack(multiple=true)` settles
 * every outstanding tag up to the one named, so one multiple ack may cover only a contiguous run of settled
 * tags starting at the lowest unsettled one. An ack above a gap waits one more flush for the gap to fill (it
 * usually does: the pool finishes neighbours together), then goes out on its own, so a tag held for long
 * (an ETA kept in memory, a slow task) delays nobody. Acks are flushed once per event-loop turn, or at once
 * when `batchSize` pile up. Rejects go out immediately, each on its own.
 */
export class AckBatcher {
  /** Every delivery tag <= floor is settled at the broker. */
  private floor = 0;
  /** Tags above the floor already settled at the broker (acked alone or rejected). */
  private readonly sentAbove = new Set<number>();
  /** Acks not sent yet → the flush round they arrived in. */
  private readonly pending = new Map<number, number>();
  private round = 0;
  private scheduled: NodeJS.Immediate | undefined;

  constructor(
    private readonly sink: AckSink,
    private readonly batchSize: number,
  ) {}

  get pendingCount(): number {
    return this.pending.size;
  }

  ack(deliveryTag: number): void {
    this.pending.set(deliveryTag, this.round);
    if (this.pending.size >= this.batchSize) this.flush();
    else this.scheduled ??= setImmediate(() => this.flush());
  }

  reject(deliveryTag: number, requeue: boolean): void {
    this.sink.reject(deliveryTag, requeue);
    this.markSent(deliveryTag);
  }

  flush(): void {
    if (this.scheduled) {
      clearImmediate(this.scheduled);
      this.scheduled = undefined;
    }
    if (this.pending.size === 0) return;
    const round = this.round++;
    let next = this.floor + 1;
    let multipleUpTo = 0;
    for (;;) {
      if (this.pending.delete(next)) multipleUpTo = next;
      else if (!this.sentAbove.delete(next)) break;
      next++;
    }
    this.floor = next - 1;
    if (multipleUpTo > 0) this.sink.ack(multipleUpTo, true);
    for (const [tag, arrived] of this.pending) {
      if (arrived === round) continue; // above a gap, and new: give the gap one more round to fill
      this.sink.ack(tag, false);
      this.sentAbove.add(tag);
      this.pending.delete(tag);
    }
    if (this.pending.size > 0) this.scheduled = setImmediate(() => this.flush());
  }

  /** Drops whatever is pending: the channel is gone and the broker requeues those deliveries itself. */
  discard(): void {
    if (this.scheduled) clearImmediate(this.scheduled);
    this.scheduled = undefined;
    this.pending.clear();
    this.sentAbove.clear();
  }

  private markSent(deliveryTag: number): void {
    if (deliveryTag !== this.floor + 1) {
      this.sentAbove.add(deliveryTag);
      return;
    }
    this.floor = deliveryTag;
    while (this.sentAbove.delete(this.floor + 1)) this.floor++;
  }
}
