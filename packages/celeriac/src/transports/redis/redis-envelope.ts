import { randomUUID } from 'node:crypto';
import { decodeJson, encodeJson } from '../../protocol/json.ts';
import type { MessageProperties, RawMessage } from '../../protocol/types.ts';

/**
 * The JSON string kombu stores in a Redis list (kombu/transport/virtual/base.py `prepare_message`
 * and `_inplace_augment_message`): hyphenated top-level keys, snake_case properties, body in base64.
 * Key order follows what kombu 5.2 writes, so a diff against a Python envelope only shows values.
 */
export interface RedisEnvelope {
  body: string | null;
  'content-encoding': string | null;
  'content-type': string | null;
  headers: Record<string, unknown>;
  properties: EnvelopeProperties;
}

export interface EnvelopeProperties {
  correlation_id?: string;
  reply_to?: string;
  delivery_mode?: number;
  delivery_info: { exchange: string; routing_key: string; redelivered?: boolean; [key: string]: unknown };
  priority: number;
  body_encoding: string | null;
  delivery_tag: string;
  expiration?: string;
  [key: string]: unknown;
}

/** An envelope taken from Redis, with the message it carries. */
export interface DecodedEnvelope {
  message: RawMessage;
  exchange: string;
  routingKey: string;
  redelivered: boolean;
  deliveryTag: string;
  envelope: RedisEnvelope;
}

/** An item in a queue list that is not a kombu envelope; it goes to `<queue>.dead`, never silently away. */
export class InvalidEnvelopeError extends Error {
  readonly code = 'REDIS_INVALID_ENVELOPE';
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'InvalidEnvelopeError';
  }
}

export function buildEnvelope(message: RawMessage, exchange: string, routingKey: string): RedisEnvelope {
  const p = message.properties;
  const properties: EnvelopeProperties = {} as EnvelopeProperties;
  if (p.correlationId !== undefined) properties.correlation_id = p.correlationId;
  if (p.replyTo !== undefined) properties.reply_to = p.replyTo;
  properties.delivery_mode = p.deliveryMode ?? 2;
  properties.delivery_info = { exchange, routing_key: routingKey };
  properties.priority = p.priority ?? 0;
  if (p.expiration !== undefined) properties.expiration = p.expiration;
  properties.body_encoding = 'base64';
  properties.delivery_tag = randomUUID();
  return {
    body: message.body.toString('base64'),
    'content-encoding': p.contentEncoding,
    'content-type': p.contentType,
    headers: p.headers ?? {},
    properties,
  };
}

/**
 * JSON text of an envelope. Plain JSON (the usual case) goes through JSON.stringify as is; only
 * headers holding a bigint, Map or Set pay for kombu-style encoding (`encodeJson`'s replacer),
 * which halves the publish cost of Celery's 16 headers.
 */
export function encodeEnvelope(envelope: RedisEnvelope): string {
  return isPlainJson(envelope.headers, 0) ? JSON.stringify(envelope) : encodeJson(envelope);
}

function isPlainJson(value: unknown, depth: number): boolean {
  if (value === null || typeof value !== 'object') return typeof value !== 'bigint';
  if (depth > 32) return false;
  if (Array.isArray(value)) return value.every((v) => isPlainJson(v, depth + 1));
  const proto = Object.getPrototypeOf(value);
  if (proto !== Object.prototype && proto !== null) return false;
  for (const key in value) if (!isPlainJson((value as Record<string, unknown>)[key], depth + 1)) return false;
  return true;
}

/** A copy of the envelope under a fresh delivery tag (one per target queue, so `unacked` entries never collide). */
export function withFreshTag(envelope: RedisEnvelope): RedisEnvelope {
  return { ...envelope, properties: { ...envelope.properties, delivery_tag: randomUUID() } };
}

/** What kombu writes back on restore (`_do_restore_message`): `redelivered` set in headers and delivery_info. */
export function markRedelivered(envelope: RedisEnvelope): RedisEnvelope {
  return {
    ...envelope,
    headers: { ...envelope.headers, redelivered: true },
    properties: {
      ...envelope.properties,
      delivery_info: { ...envelope.properties.delivery_info, redelivered: true },
    },
  };
}

const BASE64 = /^[A-Za-z0-9+/]*={0,2}$/;

/**
 * Parses an envelope read from `queue`. Throws InvalidEnvelopeError when it is not JSON, lacks the
 * kombu fields, or its base64 body is not base64; a body that decodes but is not valid JSON is still
 * a message (the worker rejects it with a clear reason, as Celery does).
 */
export function decodeEnvelope(text: string, queue: string): DecodedEnvelope {
  let parsed: unknown;
  try {
    // kombu >= 5.3 tags datetimes etc. as {"__type__": ...}; only pay for the reviver when one is there.
    parsed = text.includes('"__type__"') ? decodeJson(text) : JSON.parse(text);
  } catch (error) {
    throw new InvalidEnvelopeError(`item in queue ${JSON.stringify(queue)} is not JSON`, { cause: error });
  }
  if (!isObject(parsed) || !isObject(parsed.properties)) {
    throw new InvalidEnvelopeError(
      `item in queue ${JSON.stringify(queue)} is not a kombu envelope (no "properties" object)`,
    );
  }
  const envelope = parsed as unknown as RedisEnvelope;
  const props = envelope.properties;
  if (typeof props.delivery_tag !== 'string' || props.delivery_tag === '') {
    throw new InvalidEnvelopeError(
      `envelope in queue ${JSON.stringify(queue)} has no properties.delivery_tag`,
    );
  }
  const body = decodeBody(envelope.body, props.body_encoding, queue);
  const info = isObject(props.delivery_info) ? props.delivery_info : undefined;
  const headers = isObject(envelope.headers) ? envelope.headers : {};
  const properties: MessageProperties = {
    contentType: typeof envelope['content-type'] === 'string' ? envelope['content-type'] : '',
    contentEncoding: typeof envelope['content-encoding'] === 'string' ? envelope['content-encoding'] : '',
    headers,
  };
  if (typeof props.correlation_id === 'string') properties.correlationId = props.correlation_id;
  if (typeof props.reply_to === 'string') properties.replyTo = props.reply_to;
  if (props.delivery_mode === 1 || props.delivery_mode === 2) properties.deliveryMode = props.delivery_mode;
  if (typeof props.priority === 'number') properties.priority = props.priority;
  if (typeof props.expiration === 'string') properties.expiration = props.expiration;
  return {
    message: { body, properties },
    exchange: typeof info?.exchange === 'string' ? info.exchange : '',
    routingKey: typeof info?.routing_key === 'string' ? info.routing_key : queue,
    redelivered: info?.redelivered === true || headers.redelivered === true,
    deliveryTag: props.delivery_tag,
    envelope,
  };
}

function decodeBody(body: unknown, encoding: unknown, queue: string): Buffer {
  if (body === null || body === undefined || body === '') return Buffer.alloc(0);
  if (typeof body !== 'string') {
    throw new InvalidEnvelopeError(
      `envelope in queue ${JSON.stringify(queue)} has a body that is not a string`,
    );
  }
  if (encoding === 'base64') {
    if (body.length % 4 !== 0 || !BASE64.test(body)) {
      throw new InvalidEnvelopeError(
        `envelope in queue ${JSON.stringify(queue)} says base64 but its body is not base64`,
      );
    }
    return Buffer.from(body, 'base64');
  }
  if (encoding === null || encoding === undefined) return Buffer.from(body, 'utf8');
  throw new InvalidEnvelopeError(
    `envelope in queue ${JSON.stringify(queue)} has body_encoding ${JSON.stringify(encoding)}; only base64 is known`,
  );
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
