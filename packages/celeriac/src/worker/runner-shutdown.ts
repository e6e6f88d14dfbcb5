import type { Logger } from '../util/logger.ts';
import type { TaskRunner } from './task-runner.ts';
import { WorkerShutdownError } from './worker-errors.ts';

export interface RunnerShutdownOptions {
  /** Warm: wait up to `graceMs` for running tasks. Cold: abort them at once. */
  graceful: boolean;
  graceMs: number;
  /** Resolves when a cold shutdown is asked for during the warm wait. */
  forced: Promise<void>;
  logger: Logger;
}

/**
 * The runner's part of a shutdown: waiting requests go back to the broker; running ones finish
 * (warm, up to the grace) or are aborted, and what is still unacked goes back too.
 */
export async function shutDownRunner(runner: TaskRunner, options: RunnerShutdownOptions): Promise<void> {
  for (const request of runner.drainWaiting()) request.reject(true);
  if (options.graceful && (runner.running > 0 || runner.pendingStores > 0)) {
    await Promise.race([runner.idle(options.graceMs), options.forced]);
  }
  if (runner.running === 0) {
    // Early-acked outcomes still being stored get the same moment as tasks that honour their signal.
    if (runner.pendingStores > 0) await runner.idle(1_000);
    return;
  }
  options.logger.warn({ running: runner.running }, `aborting ${runner.running} running task(s)`);
  const reason = new WorkerShutdownError();
  for (const request of runner.active) {
    request.abort(reason);
    if (!request.settled) {
      request.abandoned = true;
      request.reject(true);
    }
  }
  // Tasks that honour their signal end now; give their acked outcomes a moment to be stored.
  await runner.idle(1_000);
}
