import type { MessageProperties, RawMessage } from '../../protocol/types.ts';
import { deadLetterMarks, deadQueueName } from '../dead-letter-marks.ts';
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

// Shared with the Redis and memory transports, so a dead message reads the same everywhere.
export {
  DEAD_AT_HEADER,
  DEAD_QUEUE_HEADER,
  DEAD_REASON_HEADER,
  deadQueueName,
} from '../dead-letter-marks.ts';

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
  const marks = deadLetterMarks(queue, reason, now);
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
        headers: { ...marks, 'x-celeriac-dead-headers-error': unencodable.slice(0, 1_000) },
      },
    };
  }
}
