import { parseDuration } from '../../util/duration.ts';
import { redactUrl } from '../../util/ids.ts';
import type { Logger } from '../../util/logger.ts';
import type { TransportOptions } from '../create-transport.ts';

/** What amqplib's `connect()` takes as an object (typed here so amqplib stays out of our config). */
export interface AmqpConnectTarget {
  protocol: 'amqp' | 'amqps';
  hostname: string;
  port: number;
  username: string;
  password: string;
  vhost: string;
  /** Seconds, as AMQP negotiates it; 0 disables heartbeats. */
  heartbeat: number;
  frameMax: number;
}

/** The AMQP transport's options, resolved once: every default filled in, frozen. */
export interface AmqpTransportConfig {
  readonly target: Readonly<AmqpConnectTarget>;
  readonly safeUrl: string;
  readonly logger: Logger;
  /** Attempts before `connect()` (or a reconnection) gives up; null retries forever. */
  readonly connectionMaxRetries: number | null;
  /** Shown by `rabbitmqctl list_connections client_properties` and the management UI. (Default: `celeriac <pid>`) */
  readonly connectionName: string;
  /** TCP connect timeout per attempt. (Default: 10 s) */
  readonly connectTimeoutMs: number;
  /** First reconnect delay; doubles per attempt with ±20 % jitter. (Default: 200 ms) */
  readonly reconnectInitialDelayMs: number;
  /** Reconnect delay cap. (Default: 30 s) */
  readonly reconnectMaxDelayMs: number;
  /** How long a publish waits for a lost connection to come back before it rejects. (Default: 10 s) */
  readonly publishTimeoutMs: number;
  /** Settled deliveries that trigger an ack flush before the next event-loop turn. (Default: 256) */
  readonly ackBatchSize: number;
  /** Delay queue TTLs for `redeliverAt`, ascending. (Default: 1 s × 4^n up to ~18 h) */
  readonly delayBucketsMs: readonly number[];
  /** Name prefix of delay exchanges and queues. (Default: `celeriac.delay`) */
  readonly delayPrefix: string;
}

const DEFAULT_DELAY_BUCKETS_MS = [1, 4, 16, 64, 256, 1024, 4096, 16384, 65536].map((s) => s * 1000);

/**
 * Parses `amqp://user:pass@host:5672/vhost` as kombu does (`kombu/utils/url.py`): the path minus its
 * first slash, URL-decoded, is the vhost, so `//` and `/%2F` are vhost `/`, and an empty path is `/` too.
 */
export function parseAmqpUrl(
  url: string,
): Omit<AmqpConnectTarget, 'heartbeat' | 'frameMax'> & { query: URLSearchParams } {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch (error) {
    throw new TypeError(
      `invalid AMQP URL ${JSON.stringify(redactUrl(url))}: expected amqp://user:pass@host:5672/vhost`,
      {
        cause: error,
      },
    );
  }
  const protocol = parsed.protocol.replace(/:$/, '');
  if (protocol !== 'amqp' && protocol !== 'amqps') {
    throw new TypeError(
      `invalid AMQP URL ${JSON.stringify(redactUrl(url))}: the scheme must be amqp:// or amqps://`,
    );
  }
  const hasCredentials = parsed.username !== '' || parsed.password !== '';
  const path = parsed.pathname.slice(1);
  return {
    protocol,
    hostname: parsed.hostname.replace(/^\[|\]$/g, '') || 'localhost',
    port: parsed.port ? Number(parsed.port) : protocol === 'amqps' ? 5671 : 5672,
    username: hasCredentials ? decodeURIComponent(parsed.username) : 'guest',
    password: hasCredentials ? decodeURIComponent(parsed.password) : 'guest',
    vhost: path === '' ? '/' : decodeURIComponent(path),
    query: parsed.searchParams,
  };
}

export function resolveAmqpConfig(url: string, options: TransportOptions): AmqpTransportConfig {
  const { query, ...target } = parseAmqpUrl(url);
  const broker = options.options;
  const heartbeatMs = query.has('heartbeat') ? Number(query.get('heartbeat')) * 1000 : options.heartbeatMs;
  const buckets = broker.delayBucketsMs ?? DEFAULT_DELAY_BUCKETS_MS;
  if (!Array.isArray(buckets) || buckets.length === 0) {
    throw new RangeError(
      'brokerOptions.delayBucketsMs must be a non-empty array of durations, e.g. [1000, 60000]',
    );
  }
  const delayBucketsMs = [
    ...new Set(buckets.map((b: unknown) => durationOption(b, 'brokerOptions.delayBucketsMs[]'))),
  ].sort((a, b) => a - b);
  if (delayBucketsMs.some((b) => b < 1 || !Number.isInteger(b))) {
    throw new RangeError('brokerOptions.delayBucketsMs entries must be whole milliseconds >= 1');
  }
  return Object.freeze({
    target: Object.freeze({ ...target, heartbeat: heartbeatSeconds(heartbeatMs), frameMax: 131072 }),
    safeUrl: redactUrl(url),
    logger: options.logger,
    connectionMaxRetries: options.connectionMaxRetries,
    connectionName: stringOption(broker.connectionName, `celeriac ${process.pid}`),
    connectTimeoutMs: durationOption(broker.connectTimeoutMs ?? 10_000, 'brokerOptions.connectTimeoutMs'),
    reconnectInitialDelayMs: durationOption(
      broker.reconnectInitialDelayMs ?? 200,
      'brokerOptions.reconnectInitialDelayMs',
    ),
    reconnectMaxDelayMs: durationOption(
      broker.reconnectMaxDelayMs ?? 30_000,
      'brokerOptions.reconnectMaxDelayMs',
    ),
    publishTimeoutMs: durationOption(broker.publishTimeoutMs ?? 10_000, 'brokerOptions.publishTimeoutMs'),
    ackBatchSize: positiveInteger(broker.ackBatchSize ?? 256, 'brokerOptions.ackBatchSize'),
    delayBucketsMs: Object.freeze(delayBucketsMs),
    delayPrefix: stringOption(broker.delayPrefix, 'celeriac.delay'),
  });
}

/** AMQP negotiates whole seconds; 0 disables heartbeats, so a positive sub-second value rounds up to 1 s. */
function heartbeatSeconds(ms: number): number {
  if (!Number.isFinite(ms) || ms < 0) throw new RangeError('brokerHeartbeat must be a non-negative duration');
  return ms === 0 ? 0 : Math.max(1, Math.round(ms / 1000));
}

function durationOption(value: unknown, what: string): number {
  if (typeof value !== 'number' && typeof value !== 'string') {
    throw new RangeError(`${what} must be a number of ms or a duration string like '5s'`);
  }
  return parseDuration(value, what);
}

function positiveInteger(value: unknown, what: string): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 1) {
    throw new RangeError(`${what} must be a whole number >= 1, got ${JSON.stringify(value)}`);
  }
  return value;
}

function stringOption(value: unknown, fallback: string): string {
  return typeof value === 'string' && value !== '' ? value : fallback;
}
