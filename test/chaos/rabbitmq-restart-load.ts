/**
 * The load of the broker-restart scenarios (RabbitMQ here, Redis in redis-restart.chaos.ts): several
 * producer apps call `sendTask` at a steady rate, each with a known task id, and every call's outcome
 * is kept: resolved (the broker confirmed it) or rejected (the caller saw an error). A task records its
 * own runs in the shared Redis (HINCRBY), so duplicates and losses are counted exactly.
 */
import { randomUUID } from 'node:crypto';
import type { Redis } from 'ioredis';
import type { Celeriac } from '../../packages/celeriac/src/app/celeriac.ts';
import type { TaskContext } from '../../packages/celeriac/src/task/context.ts';

export const TASK_NAME = 'chaos.restart.record';

/** Registers the task that counts its runs in `runsKey` of the shared Redis, after `taskMs` of work. */
export function registerRecorder(app: Celeriac, counter: Redis, runsKey: string, taskMs = 0): void {
  app.task(
    TASK_NAME,
    async (ctx: TaskContext) => {
      if (taskMs > 0) await hold(taskMs);
      await counter.hincrby(runsKey, ctx.id, 1);
    },
    { bind: true },
  );
}

export interface CallOutcome {
  id: string;
  /** When the call was made and when it settled (ms since epoch). */
  calledAt: number;
  settledAt: number;
  error?: string;
}

export class ProducerLoad {
  readonly resolved: CallOutcome[] = [];
  readonly rejected: CallOutcome[] = [];
  pending = 0;
  private timers: NodeJS.Timeout[] = [];

  /**
   * @param producers one app per producer, each with its own broker connection
   * @param perSecond calls per second per producer
   * @param maxInFlight per producer: while the broker is down calls wait (or fail); past this many
   *   waiting, a producer skips ticks instead of piling up work without bound, as a web app under
   *   back-pressure would
   */
  constructor(
    private readonly producers: Celeriac[],
    private readonly perSecond: number,
    private readonly maxInFlight = 500,
  ) {}

  start(): void {
    const everyMs = Math.max(1, Math.round(1000 / this.perSecond));
    for (const app of this.producers) {
      let inFlight = 0;
      this.timers.push(
        setInterval(() => {
          if (inFlight >= this.maxInFlight) return;
          inFlight++;
          this.pending++;
          const id = randomUUID();
          const calledAt = Date.now();
          app
            .sendTask(TASK_NAME, [], {}, { taskId: id })
            .then(
              () => this.resolved.push({ id, calledAt, settledAt: Date.now() }),
              (error: unknown) =>
                this.rejected.push({
                  id,
                  calledAt,
                  settledAt: Date.now(),
                  error: error instanceof Error ? `${error.name}: ${error.message}` : String(error),
                }),
            )
            .finally(() => {
              inFlight--;
              this.pending--;
            });
        }, everyMs),
      );
    }
  }

  stop(): void {
    for (const timer of this.timers) clearInterval(timer);
    this.timers = [];
  }

  get calls(): number {
    return this.resolved.length + this.rejected.length + this.pending;
  }

  /** The distinct error messages of rejected calls with how often each came, for the report. */
  errorSummary(): string {
    const counts = new Map<string, number>();
    for (const r of this.rejected) {
      const key = (r.error ?? '')
        .replace(/[0-9a-f]{8}-[0-9a-f-]{27}/g, '<id>')
        .replace(/"chaos-[^"]*"/g, '<queue>')
        .slice(0, 160);
      counts.set(key, (counts.get(key) ?? 0) + 1);
    }
    return [...counts].map(([message, n]) => `${n}× ${message}`).join('; ');
  }
}

/** Sleeps; the scenarios use it only for the length of an outage, never to wait for an outcome. */
export function hold(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
