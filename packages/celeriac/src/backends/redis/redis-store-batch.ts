/** One result waiting for the next batch. */
interface PendingStore {
  readonly key: string;
  readonly json: string;
  /** Lifetime in milliseconds, or '' for forever (the script's ARGV convention). */
  readonly ttl: string;
  readonly resolve: (stored: boolean) => void;
  readonly reject: (error: Error) => void;
}

/** Sends one batch: keys, then json/ttl pairs; resolves with the script's per-key outcomes. */
export type SendBatch = (keys: string[], args: string[]) => Promise<unknown[]>;

/** Redis refused one result of a batch (the others in it were stored). */
export class RedisStoreError extends Error {
  readonly code = 'REDIS_STORE';
  constructor(
    readonly key: string,
    reason: string,
  ) {
    super(`Redis refused to store ${key}: ${reason}`);
    this.name = 'RedisStoreError';
  }
}

/**
 * Gathers the results stored during one event-loop turn and sends them as one script call
 * (redis-store-script.ts), so a busy worker pays one command and one socket write per batch instead
 * of per task. Nothing waits on a timer: the batch goes out on `setImmediate`, right after the I/O
 * callbacks that produced it, so a lone result at a low rate is not held back. Each caller's promise
 * settles with its own key's outcome once Redis has replied, so a message acked after `store()`
 * resolves is acked after its state is stored.
 */
export class RedisStoreBatcher {
  private pending: PendingStore[] = [];
  private pendingChars = 0;
  private scheduled: NodeJS.Immediate | undefined;
  private readonly inFlight = new Set<Promise<void>>();

  constructor(
    private readonly send: SendBatch,
    /** Most results in one script call. */
    private readonly maxBatch: number,
    /** A batch whose JSON reaches this many characters goes out at once (giant results go alone). */
    private readonly maxChars: number,
  ) {}

  /** Resolves true when stored and published, false when skipped because SUCCESS was already stored. */
  store(key: string, json: string, ttl: string): Promise<boolean> {
    return new Promise<boolean>((resolve, reject) => {
      this.pending.push({ key, json, ttl, resolve, reject });
      this.pendingChars += json.length;
      if (this.pending.length >= this.maxBatch || this.pendingChars >= this.maxChars) this.flush();
      else this.scheduled ??= setImmediate(this.flushScheduled);
    });
  }

  /** Sends what is pending now; resolves once every batch already sent has its reply (never rejects). */
  async drain(): Promise<void> {
    this.flush();
    await Promise.all([...this.inFlight]);
  }

  private readonly flushScheduled = (): void => {
    this.scheduled = undefined;
    this.flush();
  };

  private flush(): void {
    if (this.scheduled) {
      clearImmediate(this.scheduled);
      this.scheduled = undefined;
    }
    if (this.pending.length === 0) return;
    const batch = this.pending;
    this.pending = [];
    this.pendingChars = 0;
    const sent = this.sendBatch(batch);
    this.inFlight.add(sent);
    void sent.finally(() => this.inFlight.delete(sent));
  }

  private async sendBatch(batch: PendingStore[]): Promise<void> {
    const keys = new Array<string>(batch.length);
    const args = new Array<string>(batch.length * 2);
    for (let i = 0; i < batch.length; i++) {
      const entry = batch[i]!;
      keys[i] = entry.key;
      args[2 * i] = entry.json;
      args[2 * i + 1] = entry.ttl;
    }
    let outcomes: unknown[];
    try {
      outcomes = await this.send(keys, args);
    } catch (error) {
      const failure = error instanceof Error ? error : new Error(String(error));
      for (const entry of batch) entry.reject(failure);
      return;
    }
    for (let i = 0; i < batch.length; i++) {
      const entry = batch[i]!;
      const outcome = outcomes[i];
      if (outcome === 1) entry.resolve(true);
      else if (outcome === 0) entry.resolve(false);
      else entry.reject(new RedisStoreError(entry.key, describe(outcome)));
    }
  }
}

function describe(outcome: unknown): string {
  if (typeof outcome === 'string') return outcome;
  if (Buffer.isBuffer(outcome)) return outcome.toString('utf8');
  return `unexpected script reply ${JSON.stringify(outcome) ?? String(outcome)}`;
}
