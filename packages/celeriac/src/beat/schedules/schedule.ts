/**
 * A schedule answers one question: after a given instant, when is the next run? All times are
 * UTC epoch milliseconds; a schedule that never fires again answers `null`.
 */
export interface Schedule {
  readonly kind: 'interval' | 'crontab' | 'solar' | 'clocked';
  /** The first run strictly after `afterMs`, or null when there is none. */
  nextAfter(afterMs: number): number | null;
  /**
   * The first run of an entry that has never run, created at `nowMs`. Celery takes `last_run_at`
   * as now, so this is `nextAfter(now)`, except a clocked time, which fires even when already past.
   */
  firstRun(nowMs: number): number | null;
  /** A serialisable form (for stores and `beat --list`). */
  toJSON(): ScheduleJson;
  /** One line for people: `every 5s`, `crontab 30 4 * * 1 (Europe/Berlin)`. */
  toString(): string;
}

export type ScheduleJson =
  | { type: 'interval'; everyMs: number }
  | {
      type: 'crontab';
      minute: string;
      hour: string;
      dayOfWeek: string;
      dayOfMonth: string;
      monthOfYear: string;
      timezone?: string;
    }
  | { type: 'solar'; event: string; latitude: number; longitude: number }
  | { type: 'clocked'; at: string };
