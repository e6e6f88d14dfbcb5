import type { Celeriac } from '../app/celeriac.ts';
import type { ResultBackend } from '../backends/backend.ts';
import type { Transport } from '../transports/transport.ts';
import { CanvasSteps } from './canvas-steps.ts';
import type { WorkerEvents } from './events.ts';
import type { Pool } from './pool.ts';
import { ResultStore } from './result-store.ts';
import type { RevokedSet } from './revoked-set.ts';
import { TaskRunner } from './task-runner.ts';
import type { ResolvedWorkerOptions } from './worker-options.ts';

export interface RunnerParts {
  app: Celeriac;
  options: ResolvedWorkerOptions;
  transport: Transport;
  backend: ResultBackend | undefined;
  pool: Pool;
  events: WorkerEvents;
  revoked: RevokedSet;
}

/** The result store and the task runner of a started worker, wired to its connections. */
export function createRunner(parts: RunnerParts): { store: ResultStore; runner: TaskRunner } {
  const { app, options } = parts;
  const store = new ResultStore(parts.backend, {
    hostname: options.hostname,
    extended: app.conf.resultExtended,
    expiresSeconds: app.conf.resultExpiresMs === null ? null : app.conf.resultExpiresMs / 1000,
    retryForMs: options.resultStoreRetryMs,
    logger: options.logger,
  });
  const runner = new TaskRunner({
    app,
    transport: parts.transport,
    pool: parts.pool,
    store,
    canvas: new CanvasSteps(app, options.logger),
    events: parts.events,
    revoked: parts.revoked,
    logger: options.logger,
    hostname: options.hostname,
    prefetchMultiplier: options.prefetchMultiplier,
  });
  return { store, runner };
}
