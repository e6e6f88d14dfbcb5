import type { Logger } from '../util/logger.ts';
import { Autoscaler } from './autoscaler.ts';
import type { Pool } from './pool.ts';
import type { QueueConsumers } from './queue-consumers.ts';
import { PoolResizeError } from './worker-errors.ts';
import type { ResolvedWorkerOptions } from './worker-options.ts';

export interface PoolSizerDeps {
  pool: Pool;
  consumers: QueueConsumers;
  options: ResolvedWorkerOptions;
  logger: Logger;
  /** Requests accepted and waiting for a slot; tasks running now. */
  waitingCount: () => number;
  activeCount: () => number;
  /** The pool grew: start what waits. */
  capacityChanged: () => void;
}

/** pool_grow / pool_shrink and `--autoscale`: the pool's size, and the prefetch window with it. */
export class PoolSizer {
  /** Set once started with the `autoscale` option. */
  autoscaler: Autoscaler | undefined;

  constructor(private readonly deps: PoolSizerDeps) {}

  /** Throws PoolResizeError when the pool cannot or the result would be < 1; returns the new size. */
  resize(delta: number): number {
    const { pool } = this.deps;
    const next = pool.concurrency + delta;
    if (!Number.isInteger(delta) || next < 1)
      throw new PoolResizeError(`pool cannot go to ${next} (from ${pool.concurrency})`);
    if (!pool.resize(next)) throw new PoolResizeError(`the ${pool.name} pool cannot be resized`);
    this.deps.consumers.setBasePrefetch(next * this.deps.options.prefetchMultiplier);
    this.deps.capacityChanged();
    this.deps.logger.info({ concurrency: next }, `pool ${delta > 0 ? 'grew' : 'shrank'} to ${next}`);
    return next;
  }

  startAutoscaler(): void {
    const scale = this.deps.options.autoscale;
    if (!scale) return;
    this.autoscaler = new Autoscaler(
      {
        concurrency: () => this.deps.pool.concurrency,
        waitingCount: this.deps.waitingCount,
        activeCount: this.deps.activeCount,
        resizePool: (delta) => this.resize(delta),
      },
      scale.max,
      scale.min,
      scale.keepaliveMs,
    );
    this.autoscaler.start();
  }

  stop(): void {
    this.autoscaler?.stop();
  }
}
