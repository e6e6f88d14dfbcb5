import type { Request } from './request.ts';

/** Seconds; null = none. */
export interface TimeLimitPair {
  hard: number | null;
  soft: number | null;
}

/**
 * Which time limits a request runs under (celery/worker/request.py `execute_using_pool`): the
 * message's `timelimit` header `[hard, soft]` first, then the task's limits as the `time_limit`
 * control command last set them, then the task's options. Values in seconds.
 */
export class TimeLimits {
  private readonly overrides = new Map<string, TimeLimitPair>();

  /** `celery control time_limit <task> <soft> [hard]`: replaces both limits of a task. */
  set(taskName: string, limits: TimeLimitPair): void {
    for (const [what, value] of Object.entries(limits)) {
      if (value !== null && !(typeof value === 'number' && Number.isFinite(value) && value > 0))
        throw new RangeError(`${what} time limit must be a positive number of seconds or null, got ${value}`);
    }
    this.overrides.set(taskName, { ...limits });
  }

  /** The limits for `request`, or undefined when it has none (the common case, one Map lookup). */
  forRequest(request: Request): TimeLimitPair | undefined {
    const [hardHeader, softHeader] = request.headers.timelimit;
    const task = this.overrides.get(request.headers.task) ?? {
      hard: request.task.options.timeLimit ?? null,
      soft: request.task.options.softTimeLimit ?? null,
    };
    const hard = positive(hardHeader) ?? positive(task.hard);
    const soft = positive(softHeader) ?? positive(task.soft);
    return hard === null && soft === null ? undefined : { hard, soft };
  }
}

function positive(value: number | null | undefined): number | null {
  return typeof value === 'number' && value > 0 ? value : null;
}
