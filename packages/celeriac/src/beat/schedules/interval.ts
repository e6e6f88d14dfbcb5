import { parseDuration } from '../../util/duration.ts';
import { ScheduleError } from '../errors.ts';
import type { Schedule, ScheduleJson } from './schedule.ts';

/**
 * Runs every `everyMs` after the last run (Celery's `schedule(run_every)`: due when
 * `now - last_run_at >= run_every`; `celery/schedules.py`).
 */
export class IntervalSchedule implements Schedule {
  readonly kind = 'interval';
  readonly everyMs: number;

  constructor(every: number | string) {
    let ms: number;
    try {
      ms = parseDuration(every, 'interval');
    } catch (cause) {
      throw new ScheduleError((cause as Error).message, { cause });
    }
    if (ms <= 0) throw new ScheduleError(`interval must be longer than 0 ms, got ${JSON.stringify(every)}`);
    this.everyMs = ms;
  }

  nextAfter(afterMs: number): number {
    return afterMs + this.everyMs;
  }

  firstRun(nowMs: number): number {
    return this.nextAfter(nowMs);
  }

  toJSON(): ScheduleJson {
    return { type: 'interval', everyMs: this.everyMs };
  }

  toString(): string {
    const ms = this.everyMs;
    if (ms % 86_400_000 === 0) return `every ${ms / 86_400_000}d`;
    if (ms % 3_600_000 === 0) return `every ${ms / 3_600_000}h`;
    if (ms % 60_000 === 0) return `every ${ms / 60_000}m`;
    if (ms % 1000 === 0) return `every ${ms / 1000}s`;
    return `every ${ms}ms`;
  }
}

/** Once, at a given time (django-celery-beat's `ClockedSchedule`); fires even if the time is already past. */
export class ClockedSchedule implements Schedule {
  readonly kind = 'clocked';
  readonly atMs: number;

  constructor(at: Date | string | number) {
    const ms = at instanceof Date ? at.getTime() : typeof at === 'number' ? at : Date.parse(at);
    if (!Number.isFinite(ms)) throw new ScheduleError(`clocked time ${JSON.stringify(at)} is not a date`);
    this.atMs = ms;
  }

  nextAfter(afterMs: number): number | null {
    return this.atMs > afterMs ? this.atMs : null;
  }

  firstRun(): number {
    return this.atMs;
  }

  toJSON(): ScheduleJson {
    return { type: 'clocked', at: new Date(this.atMs).toISOString() };
  }

  toString(): string {
    return `clocked ${new Date(this.atMs).toISOString()}`;
  }
}
