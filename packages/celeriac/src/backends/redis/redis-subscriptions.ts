/** The part of an ioredis subscriber connection we call. */
export interface SubscriberConnection {
  subscribe(...channels: string[]): Promise<unknown>;
  unsubscribe(...channels: string[]): Promise<unknown>;
}

/**
 * The channels a backend wants to hear, kept in step with the server in batches: every
 * want/unwant in one tick becomes at most one SUBSCRIBE and one UNSUBSCRIBE (a worker's client
 * may send thousands of tasks at once). Order of interest is kept so the oldest can be dropped.
 */
export class RedisSubscriptions {
  /** Insertion order = age, for eviction. */
  private readonly wanted = new Set<string>();
  /** What the server has been asked to deliver (sent, maybe not yet acknowledged). */
  private readonly sent = new Set<string>();
  /** SUBSCRIBE replies still outstanding, so a second `want` waits for the same one. */
  private readonly inflight = new Map<string, Promise<unknown>>();
  private readonly dirty = new Set<string>();
  private scheduled: Promise<void> | undefined;

  constructor(private readonly connection: SubscriberConnection) {}

  get size(): number {
    return this.wanted.size;
  }

  has(channel: string): boolean {
    return this.wanted.has(channel);
  }

  channels(): IterableIterator<string> {
    return this.wanted.values();
  }

  /** Resolves once the server confirmed the subscription; messages published after that arrive. */
  want(channel: string): Promise<void> {
    this.wanted.add(channel);
    if (this.sent.has(channel)) return this.inflight.get(channel)?.then(() => undefined) ?? Promise.resolve();
    this.dirty.add(channel);
    return this.schedule();
  }

  unwant(channel: string): void {
    if (!this.wanted.delete(channel)) return;
    this.dirty.add(channel);
    this.schedule().catch(() => undefined);
  }

  /** Drops the oldest channels `canDrop` allows until at most `limit` remain. */
  trim(limit: number, canDrop: (channel: string) => boolean): void {
    if (this.wanted.size <= limit) return;
    // Deleting while iterating a Set is safe; the oldest come first, so this usually stops at once.
    for (const channel of this.wanted) {
      if (this.wanted.size <= limit) break;
      if (canDrop(channel)) this.unwant(channel);
    }
  }

  /** After a reconnect the server remembers nothing: ask for every wanted channel again. */
  resubscribeAll(): Promise<void> {
    this.sent.clear();
    this.inflight.clear();
    for (const channel of this.wanted) this.dirty.add(channel);
    return this.schedule();
  }

  /** Forgets everything without talking to the server (the connection is closing). */
  clear(): void {
    this.wanted.clear();
    this.sent.clear();
    this.inflight.clear();
    this.dirty.clear();
  }

  private schedule(): Promise<void> {
    this.scheduled ??= Promise.resolve().then(() => {
      this.scheduled = undefined;
      return this.flush();
    });
    return this.scheduled;
  }

  private async flush(): Promise<void> {
    const add: string[] = [];
    const remove: string[] = [];
    for (const channel of this.dirty) {
      const want = this.wanted.has(channel);
      if (want && !this.sent.has(channel)) add.push(channel);
      else if (!want && this.sent.has(channel)) remove.push(channel);
    }
    this.dirty.clear();
    const replies: Promise<unknown>[] = [];
    if (remove.length > 0) {
      for (const channel of remove) this.sent.delete(channel);
      replies.push(this.connection.unsubscribe(...remove));
    }
    if (add.length > 0) {
      const reply = this.connection.subscribe(...add);
      for (const channel of add) {
        this.sent.add(channel);
        this.inflight.set(channel, reply);
      }
      const settle = (failed: boolean) => {
        for (const channel of add) {
          if (this.inflight.get(channel) !== reply) continue;
          this.inflight.delete(channel);
          // Not subscribed after all: the next want() must ask again.
          if (failed) this.sent.delete(channel);
        }
      };
      replies.push(
        reply.then(
          () => settle(false),
          (error: unknown) => {
            settle(true);
            throw error;
          },
        ),
      );
    }
    await Promise.all(replies);
  }
}
