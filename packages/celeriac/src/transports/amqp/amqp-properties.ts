import type { MessageProperties } from '../../protocol/types.ts';

/** The publish options amqplib takes (the subset we set). */
export interface AmqpPublishOptions {
  contentType: string;
  contentEncoding: string;
  headers: Record<string, unknown>;
  correlationId?: string;
  replyTo?: string;
  deliveryMode?: number;
  priority?: number;
  expiration?: string;
}

/** The properties amqplib hands us on a delivery (the subset we read). */
export interface AmqpIncomingProperties {
  contentType?: unknown;
  contentEncoding?: unknown;
  headers?: Record<string, unknown>;
  correlationId?: unknown;
  replyTo?: unknown;
  deliveryMode?: unknown;
  priority?: unknown;
  expiration?: unknown;
}

/** amqplib's typed-value trapdoor (`{'!': 'timestamp', value}`): how it decodes, and must re-encode, exotic AMQP types. */
const AMQPLIB_TYPES = new Set([
  'timestamp',
  'decimal',
  'float',
  'double',
  'float64',
  'byte',
  'int8',
  'unsignedbyte',
  'uint8',
  'short',
  'int16',
  'unsignedshort',
  'uint16',
  'int',
  'int32',
  'unsignedint',
  'uint32',
  'long',
  'int64',
]);

export function toPublishOptions(properties: MessageProperties): AmqpPublishOptions {
  const options: AmqpPublishOptions = {
    contentType: properties.contentType,
    contentEncoding: properties.contentEncoding,
    headers: toFieldTable(properties.headers ?? {}, 'headers'),
  };
  if (properties.correlationId !== undefined) options.correlationId = properties.correlationId;
  if (properties.replyTo !== undefined) options.replyTo = properties.replyTo;
  if (properties.deliveryMode !== undefined) options.deliveryMode = properties.deliveryMode;
  if (properties.priority !== undefined) options.priority = properties.priority;
  if (properties.expiration !== undefined) options.expiration = String(properties.expiration);
  return options;
}

export function fromAmqpProperties(properties: AmqpIncomingProperties): MessageProperties {
  const result: MessageProperties = {
    contentType: typeof properties.contentType === 'string' ? properties.contentType : '',
    contentEncoding: typeof properties.contentEncoding === 'string' ? properties.contentEncoding : '',
    headers: properties.headers ?? {},
  };
  if (typeof properties.correlationId === 'string') result.correlationId = properties.correlationId;
  if (typeof properties.replyTo === 'string') result.replyTo = properties.replyTo;
  if (properties.deliveryMode === 1 || properties.deliveryMode === 2)
    result.deliveryMode = properties.deliveryMode;
  if (typeof properties.priority === 'number') result.priority = properties.priority;
  if (properties.expiration !== undefined && properties.expiration !== null) {
    result.expiration = String(properties.expiration);
  }
  return result;
}

/**
 * Makes headers encodable by amqplib exactly as Python reads them: null stays null (AMQP void `V`, None in
 * py-amqp), `undefined` inside arrays and non-finite numbers become null as in JSON. Values
 * AMQP cannot carry (functions, symbols) fail here with the header's path instead of deep in amqplib.
 * Celery's headers are flat scalars, so the common case only reads each value once.
 */
export function toFieldTable(table: Record<string, unknown>, path: string): Record<string, unknown> {
  let copy: Record<string, unknown> | undefined;
  for (const key in table) {
    const value = table[key];
    const fixed = toFieldValue(value, `${path}.${key}`);
    if (fixed !== value) {
      copy ??= { ...table };
      copy[key] = fixed;
    }
  }
  return copy ?? table;
}

function toFieldValue(value: unknown, path: string): unknown {
  switch (typeof value) {
    case 'string':
    case 'boolean':
    case 'undefined':
      return value;
    case 'number':
      // RabbitMQ (Erlang) has no NaN or Infinity: a double holding one kills the connection with 541
      // INTERNAL_ERROR. JSON writes them as null, and so do we.
      if (!Number.isFinite(value)) return null;
      // amqplib writes 128..32767 as the 's' (int16) tag, which py-amqp reads as a short string
      // (UnicodeDecodeError in Celery, e.g. a pidbox reply's `clock`): send those as 'I' (int32).
      if (Number.isInteger(value) && (value >= 128 || value < -128) && value >= -0x8000 && value < 0x8000)
        return { '!': 'int', value };
      return value;
    case 'bigint':
      return { '!': 'long', value };
    case 'object': {
      if (value === null || Buffer.isBuffer(value)) return value;
      if (Array.isArray(value)) {
        let copy: unknown[] | undefined;
        for (let i = 0; i < value.length; i++) {
          const item = value[i] === undefined ? null : value[i];
          const fixed = toFieldValue(item, `${path}[${i}]`);
          if (fixed !== value[i]) {
            copy ??= [...value];
            copy[i] = fixed;
          }
        }
        return copy ?? value;
      }
      if (value instanceof Date) return value.toISOString();
      if (Object.hasOwn(value, '!')) {
        const type = (value as { '!': unknown })['!'];
        if (typeof type === 'string' && AMQPLIB_TYPES.has(type) && 'value' in value) return value;
        throw new TypeError(
          `${path}: AMQP headers cannot carry an object with a "!" key (amqplib reserves it)`,
        );
      }
      return toFieldTable(value as Record<string, unknown>, path);
    }
    default:
      throw new TypeError(`${path}: a ${typeof value} cannot be sent in AMQP headers`);
  }
}
