import type { ResultMeta } from '../result/meta.ts';

/**
 * The last few metas a backend was told about (by PUBLISH or a reply), so a `get`/`waitReady`
 * that comes after the notification needs no round trip. Bounded: least recently used go first.
 */
export class RecentResults {
  private readonly entries = new Map<string, ResultMeta>();

  constructor(private readonly limit: number) {}

  get size(): number {
    return this.entries.size;
  }

  get(taskId: string): ResultMeta | undefined {
    const meta = this.entries.get(taskId);
    if (meta) {
      // Map keeps insertion order: re-inserting marks the entry as most recent.
      this.entries.delete(taskId);
      this.entries.set(taskId, meta);
    }
    return meta;
  }

  set(meta: ResultMeta): void {
    this.entries.delete(meta.task_id);
    this.entries.set(meta.task_id, meta);
    while (this.entries.size > this.limit) {
      const oldest = this.entries.keys().next().value;
      if (oldest === undefined) break;
      this.entries.delete(oldest);
    }
  }

  delete(taskId: string): void {
    this.entries.delete(taskId);
  }

  clear(): void {
    this.entries.clear();
  }
}
