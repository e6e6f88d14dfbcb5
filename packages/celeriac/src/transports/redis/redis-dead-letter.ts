import { deadLetterMarks } from '../dead-letter-marks.ts';

/**
 * The envelope text a bad delivery is kept as in `<queue>.dead`: the envelope as it was, with the reason,
 * origin queue and time added to its headers (the same `x-celeriac-dead-*` headers as on RabbitMQ) and
 * `properties.expiration` dropped (a TTL would delete the evidence). It stays a kombu envelope, so it can
 * be replayed by moving it back onto the queue (`LMOVE <queue>.dead <queue> RIGHT LEFT`).
 *
 * Headers that are not an object are kept under `x-celeriac-dead-original-headers`; text that is not a
 * JSON object is kept as it was (the reason is then only in the error log).
 */
export function deadEnvelope(raw: string, queue: string, reason: string, now = new Date()): string {
  let parsed: unknown;
  try {
    parsed = JSON.parse(raw);
  } catch {
    return raw;
  }
  if (!isObject(parsed)) return raw;
  const marks = deadLetterMarks(queue, reason, now);
  const headers = parsed.headers;
  const copy: Record<string, unknown> = {
    ...parsed,
    headers: isObject(headers)
      ? { ...headers, ...marks }
      : headers === undefined || headers === null
        ? marks
        : { ...marks, 'x-celeriac-dead-original-headers': headers },
  };
  if (isObject(parsed.properties) && 'expiration' in parsed.properties) {
    const { expiration: _ttl, ...properties } = parsed.properties;
    copy.properties = properties;
  }
  return JSON.stringify(copy);
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
