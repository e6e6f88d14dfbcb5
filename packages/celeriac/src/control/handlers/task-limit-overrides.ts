/**
 * The limits the `rate_limit` and `time_limit` commands set, per worker and task, so
 * `inspect registered` with `taskinfoitems` reports what tasks run under now: Celery sets them
 * on the task object, so its `registered` shows the new values; our task options stay frozen.
 */
const overrides = new WeakMap<object, Map<string, Record<string, unknown>>>();

export function recordTaskLimits(worker: object, task: string, fields: Record<string, unknown>): void {
  let byTask = overrides.get(worker);
  if (!byTask) overrides.set(worker, (byTask = new Map()));
  byTask.set(task, { ...byTask.get(task), ...fields });
}

/** The overridden fields (snake_case, as in `taskinfoitems`) of one task, if any were set. */
export function taskLimitOverrides(worker: object, task: string): Record<string, unknown> | undefined {
  return overrides.get(worker)?.get(task);
}
