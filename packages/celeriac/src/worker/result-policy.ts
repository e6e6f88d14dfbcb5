import type { Celeriac } from '../app/celeriac.ts';
import type { Request } from './request.ts';
import type { ResultStore } from './result-store.ts';

/** The task (or the app) ignores results: `ignoreResult`. */
export function ignoresResult(request: Request, conf: Celeriac['conf']): boolean {
  return request.task.options.ignoreResult ?? conf.ignoreResult;
}

/** celery/app/trace.py `handle_error_state`: failures are stored unless the task ignores results. */
export function storesErrors(request: Request, store: ResultStore, conf: Celeriac['conf']): boolean {
  return store.enabled && !ignoresResult(request, conf);
}
