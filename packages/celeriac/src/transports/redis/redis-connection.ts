import { Redis, type RedisOptions } from 'ioredis';
import type { Logger } from '../../util/logger.ts';
import type { TransportStatus } from '../transport.ts';
import type { RedisTransportConfig } from './redis-transport-config.ts';

/** Could not reach Redis within `connectionMaxRetries` attempts, or the transport is closed. */
export class RedisConnectionError extends Error {
  readonly code = 'REDIS_CONNECTION';
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'RedisConnectionError';
  }
}

export interface ClientOptions {
  config: RedisTransportConfig;
  logger: Logger;
  /** `main`, `subscriber` or `blocking:<n>`: shows in CLIENT LIST and in logs. */
  role: string;
  connectionMaxRetries: number | null;
  /** Commands wait for a reconnection instead of failing after 20 attempts (blocking reads). */
  waitForever?: boolean;
  /**
   * Called on connection state changes. Given for the main client only: it feeds the transport's
   * status listeners and logs at warn/info; other connections log at debug, so an outage is one line.
   */
  onStatus?: (status: TransportStatus) => void;
}

/** Clients we are closing on purpose: their 'close' is not a lost connection. */
const closing = new WeakSet<Redis>();

/**
 * connectClient() callers per client. ioredis's disconnect() during a reconnect back-off clears the
 * timer but emits no 'end' (the socket is already gone), so closeClient() rejects them itself.
 */
const pendingConnects = new WeakMap<Redis, Set<(error: Error) => void>>();

/**
 * An ioredis client that reconnects by itself (exponential back-off capped at 5 s), logs a lost
 * connection once with its cause and its return once, and reports statuses.
 */
export function createClient(options: ClientOptions): Redis {
  const { config, logger, role, connectionMaxRetries } = options;
  const redisOptions: RedisOptions = {
    host: config.host,
    port: config.port,
    db: config.db,
    username: config.username,
    password: config.password,
    tls: config.tls ? {} : undefined,
    lazyConnect: true,
    connectionName: `celeriac:${role}`,
    maxRetriesPerRequest: options.waitForever ? null : 20,
    retryStrategy(times) {
      if (connectionMaxRetries !== null && times > connectionMaxRetries) return null;
      const delayMs = Math.min(2 ** (times - 1) * 100, 5000);
      options.onStatus?.({ state: 'reconnecting', attempt: times, delayMs });
      return delayMs;
    },
  };
  const client = new Redis(redisOptions);
  const primary = options.onStatus !== undefined;
  let lost = false;
  let lastError: Error | undefined;
  client.on('error', (error: Error) => {
    lastError = error;
    if (!lost) logger.debug({ err: error, role }, 'redis transport: connection error');
  });
  client.on('close', () => {
    if (lost || client.status === 'end' || closing.has(client)) return;
    lost = true;
    const error = lastError ?? new Error('connection closed by the server');
    const line = { err: error, role, url: config.safeUrl };
    if (primary) logger.warn(line, 'redis transport: connection lost, reconnecting');
    else logger.debug(line, `redis transport: ${role} connection lost, reconnecting`);
    options.onStatus?.({ state: 'disconnected', error });
  });
  client.on('ready', () => {
    if (lost && primary) logger.info({ url: config.safeUrl }, 'redis transport: connection restored');
    else if (lost) logger.debug({ role }, `redis transport: ${role} connection restored`);
    lost = false;
    lastError = undefined;
    options.onStatus?.({ state: 'connected' });
  });
  return client;
}

/** Connects, retrying per the client's strategy; rejects once it gives up. */
export async function connectClient(client: Redis, safeUrl: string): Promise<void> {
  if (client.status === 'ready') return;
  await new Promise<void>((resolve, reject) => {
    let lastError: Error | undefined;
    const onError = (error: Error) => (lastError = error);
    const pending = pendingConnects.get(client) ?? new Set();
    pendingConnects.set(client, pending);
    const cleanup = () => {
      client.off('ready', onReady);
      client.off('end', onEnd);
      client.off('error', onError);
      pending.delete(onClosed);
    };
    const onReady = () => {
      cleanup();
      resolve();
    };
    const onEnd = () => {
      cleanup();
      reject(
        new RedisConnectionError(
          `cannot connect to Redis at ${safeUrl}: ${lastError?.message ?? 'gave up'}`,
          { cause: lastError },
        ),
      );
    };
    const onClosed = (error: Error) => {
      cleanup();
      reject(lastError ? new RedisConnectionError(error.message, { cause: lastError }) : error);
    };
    pending.add(onClosed);
    client.on('ready', onReady);
    client.on('end', onEnd);
    client.on('error', onError);
    if (client.status === 'wait') client.connect().catch(() => undefined);
  });
}

/** QUIT politely, DISCONNECT if the server does not answer in time. */
export async function closeClient(client: Redis): Promise<void> {
  closing.add(client);
  for (const reject of [...(pendingConnects.get(client) ?? [])])
    reject(new RedisConnectionError('redis transport closed while connecting'));
  if (client.status === 'end') return;
  if (client.status !== 'ready') {
    client.disconnect();
    return;
  }
  const timer = setTimeout(() => client.disconnect(), 1000);
  try {
    await client.quit();
  } catch {
    client.disconnect();
  } finally {
    clearTimeout(timer);
  }
}
