import { brotliDecompressSync, unzipSync } from 'node:zlib';
import { decodeJson, encodeJson } from './json.ts';
import { DecodeError, InvalidMessageError } from './errors.ts';
import { DEFAULT_MAX_BYTES, InflatedTooLargeError } from './size-limits.ts';
import type { Embed, RawMessage, TaskHeaders, TaskMessage } from './types.ts';

export const JSON_CONTENT_TYPE = 'application/json';

const EMPTY_EMBED: Readonly<Embed> = Object.freeze({
  callbacks: null,
  errbacks: null,
  chain: null,
  chord: null,
});

/** Everything needed to build a v2 task message; the rest is defaulted as `as_task_v2` does. */
export interface TaskMessageInit {
  headers: TaskHeaders;
  args: readonly unknown[];
  kwargs: Readonly<Record<string, unknown>>;
  embed?: Partial<Embed>;
  replyTo?: string;
  priority?: number;
  /** Per-message TTL in ms (set from `expires`, as `send_task` does). */
  expirationMs?: number;
  deliveryMode?: 1 | 2;
}

export function encodeTaskMessage(init: TaskMessageInit): RawMessage {
  const embed = init.embed ? { ...EMPTY_EMBED, ...init.embed } : EMPTY_EMBED;
  const body = Buffer.from(encodeJson([init.args, init.kwargs, embed]), 'utf8');
  return {
    body,
    properties: {
      contentType: JSON_CONTENT_TYPE,
      contentEncoding: 'utf-8',
      correlationId: init.headers.id,
      replyTo: init.replyTo,
      deliveryMode: init.deliveryMode ?? 2,
      priority: init.priority ?? 0,
      expiration:
        init.expirationMs === undefined ? undefined : String(Math.max(0, Math.floor(init.expirationMs))),
      headers: init.headers,
    },
  };
}

export interface DecodeOptions {
  /**
   * Most bytes a compressed body may inflate to (the worker passes `taskMessageMaxBytes`); past it
   * decompression stops and InflatedTooLargeError is thrown. null: no limit. (Default: 10 MiB)
   */
  maxBytes?: number | null;
}

/**
 * Decodes a task message of protocol v2 (the `task` header is present) or v1 (task in the body),
 * as `celery/worker/consumer/consumer.py` `create_task_handler` tells them apart.
 * Throws DecodeError for bytes that are not our JSON, InvalidMessageError for JSON of the wrong shape.
 */
export function decodeTaskMessage(raw: RawMessage, options: DecodeOptions = {}): TaskMessage {
  const payload = decodePayload(raw, options);
  const headers = raw.properties.headers ?? {};
  if (typeof headers.task === 'string') return fromV2(headers, payload, raw);
  if (isRecord(payload) && typeof payload.task === 'string') return fromV1(payload, raw);
  throw new InvalidMessageError(
    'message has no task name: neither a `task` header (v2) nor a `task` body field (v1)',
  );
}

/** Decodes the body bytes (decompressing and checking the content type) into a JSON value. */
export function decodePayload(raw: RawMessage, options: DecodeOptions = {}): unknown {
  const { contentType, contentEncoding } = raw.properties;
  if (contentType !== JSON_CONTENT_TYPE) {
    throw new DecodeError(
      `content type ${JSON.stringify(contentType ?? null)} is not accepted (only ${JSON_CONTENT_TYPE}; pickle and others are refused)`,
    );
  }
  if (contentEncoding && !/^utf-?8$/i.test(contentEncoding)) {
    throw new DecodeError(
      `content encoding ${JSON.stringify(contentEncoding)} is not supported (utf-8 only)`,
    );
  }
  const compression = raw.properties.headers?.compression;
  const bytes =
    typeof compression === 'string'
      ? decompress(raw, compression, options.maxBytes === undefined ? DEFAULT_MAX_BYTES : options.maxBytes)
      : raw.body;
  try {
    return decodeJson(bytes.toString('utf8'));
  } catch (cause) {
    throw new DecodeError(`body is not valid JSON: ${(cause as Error).message}`, { cause });
  }
}

/**
 * Inflates a body compressed as kombu does (the `compression` header), stopping at `maxBytes` of
 * output: a few KiB can inflate to gigabytes (a decompression bomb), so the limit applies while
 * inflating, not after.
 */
function decompress(raw: RawMessage, compression: string, maxBytes: number | null): Buffer {
  const limits = maxBytes === null ? {} : { maxOutputLength: maxBytes };
  try {
    switch (compression) {
      // kombu's "gzip" is a zlib stream (zlib.compress); unzip also takes a real gzip one.
      case 'application/x-gzip':
      case 'gzip':
      case 'zlib':
        return unzipSync(raw.body, limits);
      case 'application/x-brotli':
      case 'brotli':
        return brotliDecompressSync(raw.body, limits);
      default:
        // bzip2, lzma, zstd: Node has no built-in decoder; refused before anything is inflated.
        throw new DecodeError(`compression ${JSON.stringify(compression)} is not supported`);
    }
  } catch (error) {
    if (error instanceof DecodeError) throw error;
    if ((error as NodeJS.ErrnoException).code === 'ERR_BUFFER_TOO_LARGE' && maxBytes !== null)
      throw new InflatedTooLargeError(raw, compression, maxBytes);
    throw new DecodeError(`body is not valid ${compression} data: ${(error as Error).message}`, {
      cause: error,
    });
  }
}

function fromV2(headers: Record<string, unknown>, payload: unknown, raw: RawMessage): TaskMessage {
  if (!Array.isArray(payload))
    throw new InvalidMessageError('v2 body must be a JSON array [args, kwargs, embed]');
  const [args = [], kwargs = {}, embed = null] = payload as unknown[];
  const id = stringOr(headers.id, raw.properties.correlationId);
  if (!id) throw new InvalidMessageError('message has no task id (`id` header or correlation_id)');
  return {
    headers: normaliseHeaders({ ...headers, id }),
    args: checkArgs(args),
    kwargs: checkKwargs(kwargs),
    embed: checkEmbed(embed),
    replyTo: raw.properties.replyTo || undefined,
    correlationId: raw.properties.correlationId || id,
    priority: raw.properties.priority,
    version: 2,
  };
}

function fromV1(body: Record<string, unknown>, raw: RawMessage): TaskMessage {
  const id = stringOr(body.id, raw.properties.correlationId);
  if (!id) throw new InvalidMessageError('v1 message has no task id');
  const headers = normaliseHeaders({
    task: body.task,
    id,
    eta: body.eta ?? null,
    expires: body.expires ?? null,
    group: body.taskset ?? body.group ?? null,
    group_index: body.group_index ?? null,
    retries: body.retries ?? 0,
    timelimit: body.timelimit ?? [null, null],
  });
  return {
    headers,
    args: checkArgs(body.args ?? []),
    kwargs: checkKwargs(body.kwargs ?? {}),
    embed: checkEmbed({
      callbacks: body.callbacks ?? null,
      errbacks: body.errbacks ?? null,
      chain: null,
      chord: body.chord ?? null,
    }),
    replyTo: raw.properties.replyTo || undefined,
    correlationId: raw.properties.correlationId || id,
    priority: raw.properties.priority,
    version: 1,
  };
}

/** Fills every §1.2 header a peer may have left out (celery.node sends only lang, task and id). */
export function normaliseHeaders(h: Record<string, unknown>): TaskHeaders {
  const id = String(h.id);
  const timelimit = Array.isArray(h.timelimit) ? h.timelimit : [null, null];
  return {
    ...h,
    lang: typeof h.lang === 'string' ? h.lang : 'py',
    task: String(h.task),
    id,
    shadow: stringOrNull(h.shadow),
    eta: checkDate(h.eta, 'eta'),
    expires: checkDate(h.expires, 'expires'),
    group: stringOrNull(h.group),
    group_index: typeof h.group_index === 'number' ? h.group_index : null,
    retries: typeof h.retries === 'number' ? h.retries : 0,
    timelimit: [numberOrNull(timelimit[0]), numberOrNull(timelimit[1])],
    root_id: stringOr(h.root_id, id) ?? id,
    parent_id: stringOrNull(h.parent_id),
    argsrepr: typeof h.argsrepr === 'string' ? h.argsrepr : '',
    kwargsrepr: typeof h.kwargsrepr === 'string' ? h.kwargsrepr : '',
    origin: typeof h.origin === 'string' ? h.origin : '',
    ignore_result: h.ignore_result === true,
  };
}

function checkArgs(args: unknown): unknown[] {
  if (!Array.isArray(args))
    throw new InvalidMessageError(`task args must be an array, got ${describe(args)}`);
  return args;
}

function checkKwargs(kwargs: unknown): Record<string, unknown> {
  if (kwargs === null || kwargs === undefined) return {};
  if (!isRecord(kwargs))
    throw new InvalidMessageError(`task kwargs must be an object, got ${describe(kwargs)}`);
  return kwargs;
}

function checkEmbed(embed: unknown): Embed {
  if (embed === null || embed === undefined) return { ...EMPTY_EMBED };
  if (!isRecord(embed)) throw new InvalidMessageError(`embed must be an object, got ${describe(embed)}`);
  return {
    callbacks: Array.isArray(embed.callbacks) ? (embed.callbacks as Embed['callbacks']) : null,
    errbacks: Array.isArray(embed.errbacks) ? (embed.errbacks as Embed['errbacks']) : null,
    chain: Array.isArray(embed.chain) ? (embed.chain as Embed['chain']) : null,
    chord: isRecord(embed.chord) ? (embed.chord as unknown as Embed['chord']) : null,
  };
}

function checkDate(value: unknown, field: string): string | null {
  if (value === null || value === undefined) return null;
  if (typeof value !== 'string' || Number.isNaN(Date.parse(value))) {
    throw new InvalidMessageError(`${field} header is not an ISO-8601 date: ${JSON.stringify(value)}`);
  }
  return value;
}

/** Parses an ISO date from a header; a naive value (no zone) is UTC, as Celery treats it. */
export function parseIsoDate(value: string): number {
  const naive = !/(Z|[+-]\d\d:?\d\d)$/i.test(value);
  return Date.parse(naive ? `${value}Z` : value);
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function stringOr(value: unknown, fallback: string | undefined): string | undefined {
  return typeof value === 'string' && value !== '' ? value : fallback;
}

function stringOrNull(value: unknown): string | null {
  return typeof value === 'string' ? value : null;
}

function numberOrNull(value: unknown): number | null {
  return typeof value === 'number' && Number.isFinite(value) ? value : null;
}

function describe(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  return typeof value === 'object' ? 'an object' : `${typeof value} ${JSON.stringify(value)}`;
}
