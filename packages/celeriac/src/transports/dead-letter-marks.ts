/**
 * What every transport writes on a message it sets aside in `<queue>.dead` (Transport.deadLetter), so a
 * dead message reads the same whether it sat in RabbitMQ, Redis or memory.
 */

/** Header holding why the message was set aside (the decoding error, `unregistered task …`). */
export const DEAD_REASON_HEADER = 'x-celeriac-dead-reason';
/** Header holding the queue the message was consumed from. */
export const DEAD_QUEUE_HEADER = 'x-celeriac-dead-queue';
/** Header holding when it was set aside (ISO 8601). */
export const DEAD_AT_HEADER = 'x-celeriac-dead-at';

/** Reasons are error messages; one quoting a huge header must not make a huge header itself. */
const MAX_REASON_LENGTH = 1_000;

export function deadQueueName(queue: string): string {
  return `${queue}.dead`;
}

/** The three headers to add to a dead message. */
export function deadLetterMarks(queue: string, reason: string, now = new Date()): Record<string, string> {
  return {
    [DEAD_REASON_HEADER]:
      reason.length > MAX_REASON_LENGTH ? `${reason.slice(0, MAX_REASON_LENGTH)}…` : reason,
    [DEAD_QUEUE_HEADER]: queue,
    [DEAD_AT_HEADER]: now.toISOString(),
  };
}
