import { AsyncPool, type Pool } from './pool.ts';
import { ProcessPool } from './process-pool.ts';
import { ThreadPool } from './thread-pool.ts';
import type { ResolvedWorkerOptions } from './worker-options.ts';

/** The pool `-P` names, built from the worker's resolved options. */
export function createPool(options: ResolvedWorkerOptions): Pool {
  switch (options.pool) {
    case 'threads':
      return new ThreadPool(options.concurrency, {
        appModule: options.appModule!,
        maxTasksPerChild: options.maxTasksPerChild,
        maxMemoryPerChildKb: options.maxMemoryPerChildKb,
        logger: options.logger,
      });
    case 'processes':
      return new ProcessPool(options.concurrency, {
        appModule: options.appModule!,
        maxTasksPerChild: options.maxTasksPerChild,
        maxMemoryPerChildKb: options.maxMemoryPerChildKb,
        logger: options.logger,
      });
    default:
      return new AsyncPool(options.concurrency);
  }
}
