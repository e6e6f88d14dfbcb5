import { redactUrl } from '../../util/ids.ts';
import type { BackendOptions } from '../create-backend.ts';

/** Tuning a RedisBackend accepts on top of what every backend gets. */
export interface RedisBackendOptions extends BackendOptions {
  /**
   * Most task ids subscribed at once for tasks nobody waits on yet (`onTaskSent`); the oldest are
   * dropped first, and a later `waitReady` subscribes again. (Default: 10000)
   */
  maxSubscriptions?: number;
  /** Ready results remembered after their PUBLISH, for a later get/wait. (Default: 1000) */
  recentResults?: number;
  /**
   * Batch commands issued in the same tick into one write (ioredis `enableAutoPipelining`). Off by
   * default: stores are already batched by the backend (`storeBatchSize`), ioredis writes other
   * concurrent commands without waiting for replies, and on a 2-core box auto-pipelining measured
   * slower (7.6k vs 12.3k single stores/s from 1000 callers). (Default: false)
   */
  autoPipelining?: boolean;
  /**
   * Most results one store script call carries. The results stored during one event-loop turn go
   * out together; 1 sends each alone. (Default: 128)
   */
  storeBatchSize?: number;
  /** Client name shown by `CLIENT LIST`, suffixed with `:cmd` / `:sub`. (Default: celeriac-results) */
  connectionName?: string;
}

export interface RedisBackendConfig {
  readonly safeUrl: string;
  readonly host: string;
  readonly port: number;
  readonly db: number;
  readonly username: string | undefined;
  readonly password: string | undefined;
  readonly tls: boolean;
  /** Default lifetime of a stored result; null keeps results forever. */
  readonly resultExpiresMs: number | null;
  readonly maxSubscriptions: number;
  readonly recentResults: number;
  readonly connectionName: string;
  readonly autoPipelining: boolean;
  readonly storeBatchSize: number;
}

/** Thrown for a backend URL or option we cannot use; the message says what to write instead. */
export class RedisBackendConfigError extends Error {
  readonly code = 'REDIS_BACKEND_CONFIG';
  constructor(message: string) {
    super(message);
    this.name = 'RedisBackendConfigError';
  }
}

/** `redis://[[user]:pass@]host[:port][/db]` (`rediss://` for TLS), resolved once into a frozen config. */
export function resolveRedisBackendConfig(url: string, options: RedisBackendOptions): RedisBackendConfig {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new RedisBackendConfigError(
      `invalid result backend URL ${JSON.stringify(redactUrl(url))}: expected redis://host:6379/0`,
    );
  }
  const scheme = parsed.protocol.replace(/:$/, '');
  if (scheme !== 'redis' && scheme !== 'rediss') {
    throw new RedisBackendConfigError(`not a Redis URL: ${JSON.stringify(redactUrl(url))}`);
  }
  const dbText = parsed.pathname.replace(/^\/+|\/+$/g, '');
  if (!/^\d*$/.test(dbText)) {
    throw new RedisBackendConfigError(
      `invalid Redis database ${JSON.stringify(dbText)} in ${JSON.stringify(redactUrl(url))}: use a number, e.g. redis://host:6379/0`,
    );
  }
  const port = parsed.port === '' ? 6379 : Number(parsed.port);
  const positive = (name: string, value: number | undefined, fallback: number) => {
    const n = value ?? fallback;
    if (!Number.isInteger(n) || n < 1)
      throw new RedisBackendConfigError(`${name} must be a positive integer, got ${value}`);
    return n;
  };
  const expires = options.resultExpiresMs;
  if (expires !== null && !(Number.isFinite(expires) && expires >= 0)) {
    throw new RedisBackendConfigError(`resultExpiresMs must be >= 0 or null (forever), got ${expires}`);
  }
  return Object.freeze({
    safeUrl: redactUrl(url),
    host: decodeURIComponent(parsed.hostname.replace(/^\[|\]$/g, '')) || '127.0.0.1',
    port,
    db: dbText === '' ? 0 : Number(dbText),
    username: parsed.username ? decodeURIComponent(parsed.username) : undefined,
    password: parsed.password ? decodeURIComponent(parsed.password) : undefined,
    tls: scheme === 'rediss',
    // Python treats a falsy result_expires as "keep forever" (`if self.expires: setex else set`).
    resultExpiresMs: expires === 0 ? null : expires,
    maxSubscriptions: positive('maxSubscriptions', options.maxSubscriptions, 10_000),
    recentResults: positive('recentResults', options.recentResults, 1000),
    connectionName: options.connectionName ?? 'celeriac-results',
    autoPipelining: options.autoPipelining ?? false,
    storeBatchSize: positive('storeBatchSize', options.storeBatchSize, 128),
  });
}
