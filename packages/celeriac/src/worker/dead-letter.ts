import type { Delivery, Transport } from '../transports/transport.ts';
import type { Logger } from '../util/logger.ts';

/**
 * Sets a message the worker cannot run aside: into `<queue>.dead` where the transport can do that
 * (the reason travels in a header), else a plain reject without requeue as Celery does. If the copy
 * cannot be stored (broker trouble), the message is requeued: a bad message is never silently dropped.
 */
export function deadLetter(
  transport: Transport | undefined,
  delivery: Delivery,
  reason: string,
  logger: Logger,
): void {
  if (!transport?.deadLetter) {
    delivery.reject(false);
    return;
  }
  transport.deadLetter(delivery, reason).catch((error: unknown) => {
    logger.error(
      { err: error, queue: delivery.routingKey },
      `could not dead-letter a message (${reason}): ${(error as Error)?.message ?? error}; requeued it`,
    );
    delivery.reject(true);
  });
}
