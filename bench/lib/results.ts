import { performance } from 'node:perf_hooks';
import { Redis } from 'ioredis';

const READY = new Set(['SUCCESS', 'FAILURE', 'REVOKED']);

/**
 * Counts finished tasks of one run from the Redis result backend's PUBLISH on
 * `celery-task-meta-<id>` (celery/backends/redis.py `set`): the same signal for Python and
 * Celeriac workers, exact, and it costs the worker nothing extra (it publishes anyway).
 */
export class ResultCounter {
  count = 0;
  failures = 0;
  firstAtMs = Number.NaN;
  lastAtMs = Number.NaN;
  private readonly seen = new Set<string>();
  private resolveDone!: () => void;
  readonly done = new Promise<void>((resolve) => (this.resolveDone = resolve));

  private constructor(
    private readonly sub: Redis,
    private readonly expected: number,
  ) {}

  /** Subscribes to `celery-task-meta-<runTag>*` and resolves once the subscription is in place. */
  static async start(redisUrl: string, runTag: string, expected: number): Promise<ResultCounter> {
    const sub = new Redis(redisUrl, { lazyConnect: true, maxRetriesPerRequest: 1 });
    await sub.connect();
    const counter = new ResultCounter(sub, expected);
    sub.on('pmessage', (_pattern: string, channel: string, message: string) =>
      counter.onMessage(channel, message),
    );
    await sub.psubscribe(`celery-task-meta-${runTag}*`);
    return counter;
  }

  private onMessage(channel: string, message: string): void {
    const status = /"status":\s*"(\w+)"/.exec(message)?.[1];
    if (!status || !READY.has(status) || this.seen.has(channel)) return;
    this.seen.add(channel);
    const now = performance.now();
    if (this.count === 0) this.firstAtMs = now;
    this.lastAtMs = now;
    this.count++;
    if (status !== 'SUCCESS') this.failures++;
    if (this.count === this.expected) this.resolveDone();
  }

  async close(): Promise<void> {
    await this.sub.quit().catch(() => this.sub.disconnect());
  }
}

/** Removes the result keys a run left (`celery-task-meta-<id>`), in pipelined chunks. */
export async function deleteResults(redisUrl: string, ids: readonly string[]): Promise<void> {
  if (ids.length === 0) return;
  const redis = new Redis(redisUrl, { lazyConnect: true, maxRetriesPerRequest: 1 });
  await redis.connect();
  try {
    for (let i = 0; i < ids.length; i += 1000) {
      await redis.unlink(...ids.slice(i, i + 1000).map((id) => `celery-task-meta-${id}`));
    }
  } finally {
    await redis.quit().catch(() => redis.disconnect());
  }
}
