import type { Logger } from '../util/logger.ts';
import type { Request } from './request.ts';

/**
 * Outcomes still being stored after their slot was freed. With early ack the message is already
 * acked when the task body ends, so holding the slot until the backend replies only makes a fast
 * worker alternate between running and waiting; the runner frees it and counts the store here
 * instead, and stops starting tasks while `size` is at its cap, so memory stays bounded and a
 * slow backend stops the consumer (waiting messages stay unacked within the prefetch window).
 */
export class BackgroundStores {
  /** Outcomes whose storing failed or was given up (the message was acked early: the result is lost). */
  failed = 0;
  private count = 0;

  constructor(
    private readonly logger: Logger,
    /** Called after each store settles, so the runner can start what waits or wake idle waiters. */
    private readonly onSettled: () => void,
  ) {}

  /** Stores not finished yet. */
  get size(): number {
    return this.count;
  }

  /** Counts `work` until it settles; a rejection is logged with the task id and counted, never unhandled. */
  track(request: Request, work: Promise<void>): void {
    this.count++;
    work.then(
      () => this.settled(),
      (error: unknown) => {
        this.failed++;
        this.logger.error(
          { err: error, taskId: request.id },
          `could not finish storing the outcome of ${request.name}[${request.id}] (acked early: it is lost)`,
        );
        this.settled();
      },
    );
  }

  /** An outcome the store gave up on (logged by the caller). */
  lost(): void {
    this.failed++;
  }

  private settled(): void {
    this.count--;
    this.onSettled();
  }
}
