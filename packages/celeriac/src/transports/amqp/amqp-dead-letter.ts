import type { MessageProperties, RawMessage } from '../../protocol/types.ts';
import type { QueueSpec } from '../transport.ts';
import { toPublishOptions } from './amqp-properties.ts';

/**
 * Dead-lettering on RabbitMQ without a DLX. Celery declares its queues with no arguments, and a queue
 * redeclared with an `x-dead-letter-exchange` Python did not set fails with PRECONDITION_FAILED, so a
 * broker-side DLX would break queues Python declared. Instead the worker publishes a copy of the bad
 * message (same body, headers and properties) to `<queue>.dead`, with the reason in a header, and acks
 * the original only once the broker has confirmed the copy: a bad message is set aside, never dropped.
 * RabbitMQ's `max_message_size` counts the body only, so the copy fits wherever the original did.
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

/** A plain durable classic queue nobody consumes: it holds bad messages until someone looks. */
export function deadQueueSpec(queue: string): QueueSpec {
  return { name: deadQueueName(queue), durable: true, autoDelete: false, exclusive: false };
}

/**
 * The copy to publish. `expiration` is dropped (a TTL would delete the evidence); when the original
 * headers cannot be re-encoded (amqplib decodes some AMQP values it will not write back), the copy keeps
 * the body and says so in a header rather than failing.
 */
export function deadLetterCopy(
  message: RawMessage,
  queue: string,
  reason: string,
  now = new Date(),
): RawMessage {
  const { expiration: _ttl, ...properties }: MessageProperties = message.properties;
  const marks = {
    [DEAD_REASON_HEADER]:
      reason.length > MAX_REASON_LENGTH ? `${reason.slice(0, MAX_REASON_LENGTH)}…` : reason,
    [DEAD_QUEUE_HEADER]: queue,
    [DEAD_AT_HEADER]: now.toISOString(),
  };
  const copy: RawMessage = {
    body: message.body,
    properties: { ...properties, deliveryMode: 2, headers: { ...properties.headers, ...marks } },
  };
  try {
    toPublishOptions(copy.properties);
    return copy;
  } catch (error) {
    const unencodable = `original headers not re-encodable: ${(error as Error).message}`;
    return {
      body: message.body,
      properties: {
        contentType: properties.contentType,
        contentEncoding: properties.contentEncoding,
        deliveryMode: 2,
        headers: { ...marks, 'x-celeriac-dead-headers-error': unencodable.slice(0, MAX_REASON_LENGTH) },
      },
    };
  }
}
