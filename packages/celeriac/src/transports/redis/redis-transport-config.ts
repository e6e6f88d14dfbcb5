import { parseDuration } from '../../util/duration.ts';
import { redactUrl } from '../../util/ids.ts';

/**
 * Options of the Redis transport, resolved once from the broker URL and `brokerOptions`.
 * Names follow kombu's transport options (kombu/transport/redis.py `Channel`); the kombu
 * snake_case spellings (`visibility_timeout`, `global_keyprefix`, ...) are accepted too, so a
 * Celery `broker_transport_options` dict can be pasted as is.
 */
export interface RedisTransportConfig {
  readonly host: string;
  readonly port: number;
  /** kombu's "virtual host": the Redis database number (URL path). Default 0. */
  readonly db: number;
  readonly username: string | undefined;
  readonly password: string | undefined;
  readonly tls: boolean;
  readonly safeUrl: string;
  /** A delivery unacked this long is given back to its queue by any consumer. Default 3600 s. */
  readonly visibilityTimeoutMs: number;
  /** Prefix of every key and every pub/sub channel. Default ''. */
  readonly globalKeyprefix: string;
  /** Priority buckets; a message goes to the largest step <= its priority. Default [0, 3, 6, 9]. */
  readonly prioritySteps: readonly number[];
  /** Pub/sub channel prefix: `/{db}.` when `fanoutPrefix` is true (default), '' when false, or the given string. */
  readonly fanoutPrefix: string;
  /** Fanout channels carry the routing key (`/{db}.exchange/key`). Default true. */
  readonly fanoutPatterns: boolean;
  /** Separator inside binding members and priority keys. Default '\x06\x16'. */
  readonly sep: string;
  /** Expiry of the `unacked_mutex` lock taken by restore_visible. Default 300 s. */
  readonly unackedMutexExpireMs: number;
  /** How often a consumer looks for deliveries past the visibility timeout. Default min(10 s, timeout / 2). */
  readonly restoreIntervalMs: number;
  /** How often held deliveries get their `unacked_index` score refreshed. Default timeout / 4. */
  readonly heldRefreshMs: number;
  /** Most envelopes one atomic fetch takes. Default 100. */
  readonly fetchBatchSize: number;
  /** Messages a declared but unconsumed fanout queue keeps in memory. Default 1000. */
  readonly fanoutBufferSize: number;
  /** Exchanges that are fanout on Redis whatever type they are declared with (celery/events/event.py `get_exchange`). */
  readonly fanoutExchanges: readonly string[];
}

/** A broker option or URL Celeriac cannot use; the message says what to change. */
export class RedisTransportConfigError extends Error {
  readonly code = 'REDIS_TRANSPORT_CONFIG';
  constructor(message: string) {
    super(message);
    this.name = 'RedisTransportConfigError';
  }
}

const DEFAULT_PRIORITY_STEPS = [0, 3, 6, 9];

export function resolveRedisTransportConfig(
  url: string,
  options: Readonly<Record<string, unknown>> = {},
): RedisTransportConfig {
  const parsed = parseUrl(url);
  const pick = (camel: string, snake: string): unknown => options[camel] ?? options[snake];

  const visibilityTimeoutMs = resolveVisibilityTimeout(options);
  const prioritySteps = resolvePrioritySteps(pick('prioritySteps', 'priority_steps'));
  const sep = optionalString(pick('sep', 'sep'), 'sep') ?? '\x06\x16';
  if (sep === '') throw new RedisTransportConfigError('brokerOptions.sep must not be empty');

  const fanoutPrefixOption = pick('fanoutPrefix', 'fanout_prefix') ?? true;
  let fanoutPrefix: string;
  if (fanoutPrefixOption === true) fanoutPrefix = `/${parsed.db}.`;
  else if (fanoutPrefixOption === false) fanoutPrefix = '';
  else if (typeof fanoutPrefixOption === 'string') fanoutPrefix = fanoutPrefixOption;
  else
    throw new RedisTransportConfigError(
      'brokerOptions.fanoutPrefix must be true, false or a string like "/0."',
    );

  const restoreIntervalMs = optionalDuration(options.restoreIntervalMs, 'restoreIntervalMs');
  const heldRefreshMs = optionalDuration(options.heldRefreshMs, 'heldRefreshMs');
  if (heldRefreshMs !== undefined && heldRefreshMs >= visibilityTimeoutMs) {
    throw new RedisTransportConfigError(
      `brokerOptions.heldRefreshMs (${heldRefreshMs}) must be shorter than the visibility timeout (${visibilityTimeoutMs} ms), ` +
        'or held deliveries get restored while a worker still holds them',
    );
  }
  const fetchBatchSize = options.fetchBatchSize ?? 100;
  if (!Number.isInteger(fetchBatchSize) || (fetchBatchSize as number) < 1) {
    throw new RedisTransportConfigError('brokerOptions.fetchBatchSize must be a positive integer');
  }
  const fanoutBufferSize = options.fanoutBufferSize ?? 1000;
  if (!Number.isInteger(fanoutBufferSize) || (fanoutBufferSize as number) < 0) {
    throw new RedisTransportConfigError('brokerOptions.fanoutBufferSize must be an integer >= 0');
  }
  const fanoutExchanges = options.fanoutExchanges ?? ['celeryev'];
  if (!Array.isArray(fanoutExchanges) || !fanoutExchanges.every((e) => typeof e === 'string')) {
    throw new RedisTransportConfigError('brokerOptions.fanoutExchanges must be an array of exchange names');
  }

  return Object.freeze({
    ...parsed,
    safeUrl: redactUrl(url),
    visibilityTimeoutMs,
    globalKeyprefix: optionalString(pick('globalKeyprefix', 'global_keyprefix'), 'globalKeyprefix') ?? '',
    prioritySteps,
    fanoutPrefix,
    fanoutPatterns: optionalBoolean(pick('fanoutPatterns', 'fanout_patterns'), 'fanoutPatterns') ?? true,
    sep,
    unackedMutexExpireMs:
      optionalDuration(options.unackedMutexExpireMs, 'unackedMutexExpireMs') ??
      secondsOption(options.unacked_mutex_expire, 'unacked_mutex_expire') ??
      300_000,
    restoreIntervalMs: restoreIntervalMs ?? Math.max(100, Math.min(10_000, visibilityTimeoutMs / 2)),
    heldRefreshMs: heldRefreshMs ?? Math.max(50, Math.floor(visibilityTimeoutMs / 4)),
    fetchBatchSize: fetchBatchSize as number,
    fanoutBufferSize: fanoutBufferSize as number,
    fanoutExchanges: Object.freeze([...(fanoutExchanges as string[])]),
  });
}

function parseUrl(
  url: string,
): Pick<RedisTransportConfig, 'host' | 'port' | 'db' | 'username' | 'password' | 'tls'> {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new RedisTransportConfigError(
      `broker URL ${JSON.stringify(redactUrl(url))} is not a URL like redis://host:6379/0`,
    );
  }
  if (parsed.protocol !== 'redis:' && parsed.protocol !== 'rediss:') {
    throw new RedisTransportConfigError(`broker URL scheme ${parsed.protocol} is not redis:// or rediss://`);
  }
  const path = parsed.pathname.replace(/^\/+|\/+$/g, '');
  const db = path === '' ? 0 : Number(path);
  if (!Number.isInteger(db) || db < 0) {
    throw new RedisTransportConfigError(
      `broker URL path ${JSON.stringify(path)} must be a database number, as in redis://host:6379/0`,
    );
  }
  return {
    host: parsed.hostname || '127.0.0.1',
    port: parsed.port ? Number(parsed.port) : 6379,
    db,
    username: parsed.username ? decodeURIComponent(parsed.username) : undefined,
    password: parsed.password ? decodeURIComponent(parsed.password) : undefined,
    tls: parsed.protocol === 'rediss:',
  };
}

/** `visibilityTimeoutMs` (ms), or `visibilityTimeout` / `visibility_timeout` in seconds as kombu counts, or '1h'. */
function resolveVisibilityTimeout(options: Readonly<Record<string, unknown>>): number {
  const ms =
    optionalDuration(options.visibilityTimeoutMs, 'visibilityTimeoutMs') ??
    secondsOption(options.visibilityTimeout, 'visibilityTimeout') ??
    secondsOption(options.visibility_timeout, 'visibility_timeout') ??
    3_600_000;
  if (ms <= 0) throw new RedisTransportConfigError('brokerOptions.visibilityTimeout must be positive');
  return ms;
}

function resolvePrioritySteps(value: unknown): readonly number[] {
  if (value === undefined || value === null) return Object.freeze([...DEFAULT_PRIORITY_STEPS]);
  const valid =
    Array.isArray(value) &&
    value.length > 0 &&
    value[0] === 0 &&
    value.every((s, i) => Number.isInteger(s) && s >= 0 && s <= 9 && (i === 0 || s > value[i - 1]));
  if (!valid) {
    throw new RedisTransportConfigError(
      `brokerOptions.prioritySteps ${JSON.stringify(value)} must be ascending integers 0..9 starting at 0, e.g. [0, 3, 6, 9]`,
    );
  }
  return Object.freeze([...(value as number[])]);
}

function secondsOption(value: unknown, name: string): number | undefined {
  if (value === undefined || value === null) return undefined;
  if (typeof value === 'number') {
    if (!Number.isFinite(value) || value < 0)
      throw new RedisTransportConfigError(`brokerOptions.${name} must be seconds >= 0`);
    return value * 1000;
  }
  return optionalDuration(value, name);
}

function optionalDuration(value: unknown, name: string): number | undefined {
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'number' && typeof value !== 'string') {
    throw new RedisTransportConfigError(
      `brokerOptions.${name} must be a number of ms or a duration like '5s'`,
    );
  }
  try {
    return parseDuration(value, `brokerOptions.${name}`);
  } catch (error) {
    throw new RedisTransportConfigError((error as Error).message);
  }
}

function optionalString(value: unknown, name: string): string | undefined {
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'string')
    throw new RedisTransportConfigError(`brokerOptions.${name} must be a string`);
  return value;
}

function optionalBoolean(value: unknown, name: string): boolean | undefined {
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'boolean')
    throw new RedisTransportConfigError(`brokerOptions.${name} must be true or false`);
  return value;
}
