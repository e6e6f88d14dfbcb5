import { Redis } from 'ioredis';
import { pendingMeta, type ResultMeta } from '../../result/meta.ts';
import { isReady } from '../../result/states.ts';
import type { Logger } from '../../util/logger.ts';
import type { BackendCapabilities, ResultBackend, StoreContext } from '../backend.ts';
import { BackendClosedError } from '../errors.ts';
import { RecentResults } from '../recent-results.ts';
import { decodeResultMeta, encodeResultMeta } from '../result-json.ts';
import { ResultWaiters } from '../waiters.ts';
import {
  resolveRedisBackendConfig,
  type RedisBackendConfig,
  type RedisBackendOptions,
} from './redis-backend-config.ts';
import { STORE_RESULTS_LUA, TASK_META_PREFIX, taskMetaKey } from './redis-store-script.ts';
import { RedisStoreBatcher } from './redis-store-batch.ts';
import { RedisSubscriptions } from './redis-subscriptions.ts';
import { RedisChordCounter } from './redis-chord.ts';

/** The custom command `defineCommand` adds (see redis-store-script.ts for its inputs and output). */
interface StoreCommand {
  celeriacStoreResults(keyCount: number, ...keysThenArgs: string[]): Promise<unknown[]>;
}

/** How many keys one MGET asks for when re-checking after a reconnect. */
const MGET_CHUNK = 1000;

/** How long close() waits for stores already sent while Redis is unreachable; then they fail. */
const CLOSE_DRAIN_MS = 5000;

/** A store batch whose JSON reaches this many characters goes out without waiting for the turn's end. */
const STORE_BATCH_CHARS = 1 << 20;

/**
 * `redis://[[user]:pass@]host:port/db`: results as Celery's Redis backend keeps them (§4.2).
 * One connection stores and reads: the results stored in one event-loop turn go out as one script
 * call (redis-store-batch.ts); a second connection, opened on first wait, hears each result's
 * PUBLISH. Waiting never polls.
 */
export class RedisBackend implements ResultBackend {
  readonly name = 'redis';
  readonly safeUrl: string;
  readonly capabilities: BackendCapabilities = Object.freeze({ persistent: true, clientBound: false });
  private readonly config: RedisBackendConfig;
  private readonly logger: Logger;
  private readonly waiters = new ResultWaiters();
  private readonly recent: RecentResults;
  private client: (Redis & StoreCommand) | undefined;
  private connecting: Promise<void> | undefined;
  private subscriber: Redis | undefined;
  private subscriptions: RedisSubscriptions | undefined;
  private closed = false;
  /** Set once close() has quit the connections: a connection that opens later is dropped at once. */
  private released = false;
  private readonly batcher: RedisStoreBatcher;
  /** Chord counters (`.j`/`.t`/`.s`, §4.2); see redis-chord.ts and chord-backend.ts. */
  readonly chords = new RedisChordCounter(
    () => this.commands(),
    () => this.config.resultExpiresMs,
  );

  constructor(url: string, options: RedisBackendOptions) {
    this.config = resolveRedisBackendConfig(url, options);
    this.safeUrl = this.config.safeUrl;
    this.logger = options.logger.child({ component: 'redis-backend' });
    this.recent = new RecentResults(this.config.recentResults);
    this.batcher = new RedisStoreBatcher(
      async (keys, args) => (await this.storeClient()).celeriacStoreResults(keys.length, ...keys, ...args),
      this.config.storeBatchSize,
      STORE_BATCH_CHARS,
    );
  }

  /** Opens the command connection; idempotent. Rejects (and stops retrying) when Redis is unreachable. */
  connect(): Promise<void> {
    if (this.closed) return Promise.reject(new BackendClosedError('redis'));
    this.connecting ??= this.openClient().catch((error: unknown) => {
      this.connecting = undefined;
      throw error;
    });
    return this.connecting;
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    // Results already handed to store() go out (and get their reply) before the connection quits.
    await withinMs(this.batcher.drain(), CLOSE_DRAIN_MS);
    this.waiters.cancelAll(new BackendClosedError('redis'));
    this.subscriptions?.clear();
    this.recent.clear();
    this.released = true;
    await Promise.all([quit(this.client), quit(this.subscriber)]);
  }

  async store(meta: ResultMeta, context: StoreContext): Promise<void> {
    const json = encodeResultMeta(meta);
    const ttlMs = this.ttlMs(context);
    if (this.closed) throw new BackendClosedError('redis');
    // Open the connection now, not when the batch goes out: close() may come in between.
    if (!this.client) this.connect().catch(() => undefined);
    const stored = await this.batcher.store(
      taskMetaKey(meta.task_id),
      json,
      ttlMs === null ? '' : String(ttlMs),
    );
    if (!stored) {
      this.logger.debug(
        { taskId: meta.task_id, status: meta.status },
        'SUCCESS already stored; later state not written',
      );
    }
  }

  /** Always reads Redis: the remembered copy would hide an expiry or a forget by another process. */
  async get(taskId: string): Promise<ResultMeta> {
    return (await this.fetch(taskId)) ?? pendingMeta(taskId);
  }

  waitReady(taskId: string, options: { timeoutMs?: number; signal?: AbortSignal }): Promise<ResultMeta> {
    if (this.closed) return Promise.reject(new BackendClosedError('redis'));
    const subscriptions = this.ensureSubscriber();
    const channel = taskMetaKey(taskId);
    return this.waiters.wait(
      taskId,
      options,
      async () => {
        const remembered = this.recent.get(taskId);
        if (remembered && isReady(remembered.status)) return remembered;
        // Subscribe first, then read: a result stored in between is caught by one or the other.
        await subscriptions.want(channel);
        return this.fetch(taskId);
      },
      () => subscriptions.unwant(channel),
    );
  }

  /**
   * Celery's `on_task_call`: start listening before the task is published, bounded by
   * `maxSubscriptions`. It does not wait for Redis to confirm the SUBSCRIBE (nor does Python's):
   * waiting put a Redis round trip in front of every publish. Nothing is missed by not waiting:
   * `waitReady` awaits this same subscription, then reads the key, so a PUBLISH that beat it is
   * found by the read.
   */
  onTaskSent(taskId: string): void {
    if (this.closed) return;
    const subscriptions = this.ensureSubscriber();
    subscriptions
      .want(taskMetaKey(taskId))
      .catch((error: unknown) =>
        this.logger.warn({ err: error, taskId }, 'could not subscribe to a result channel'),
      );
    subscriptions.trim(
      this.config.maxSubscriptions,
      (channel) => !this.waiters.has(channel.slice(TASK_META_PREFIX.length)),
    );
  }

  async forget(taskId: string): Promise<void> {
    this.recent.delete(taskId);
    const client = await this.commands();
    await client.del(taskMetaKey(taskId));
  }

  /** Channels currently wanted (for tests and `stats`). */
  get subscriptionCount(): number {
    return this.subscriptions?.size ?? 0;
  }

  private ttlMs(context: StoreContext): number | null {
    if (context.expiresSeconds === undefined) return this.config.resultExpiresMs;
    if (context.expiresSeconds === null) return null;
    if (!Number.isFinite(context.expiresSeconds) || context.expiresSeconds < 0) {
      throw new RangeError(`expiresSeconds must be >= 0 or null, got ${context.expiresSeconds}`);
    }
    // As Python: a falsy lifetime means keep forever.
    return context.expiresSeconds === 0 ? null : Math.max(1, Math.round(context.expiresSeconds * 1000));
  }

  private async commands(): Promise<Redis & StoreCommand> {
    if (this.closed) throw new BackendClosedError('redis');
    await this.connect();
    return this.client!;
  }

  /** For a batch: the store() calls in it opened the connection, and close() waits for them. */
  private async storeClient(): Promise<Redis & StoreCommand> {
    if (this.released) throw new BackendClosedError('redis');
    if (!this.client) await (this.connecting ?? this.connect());
    return this.client!;
  }

  private async fetch(taskId: string): Promise<ResultMeta | undefined> {
    const client = await this.commands();
    const text = await client.get(taskMetaKey(taskId));
    return text === null ? undefined : decodeResultMeta(taskId, text);
  }

  private async openClient(): Promise<void> {
    const client = new Redis(
      this.redisOptions('cmd', { enableAutoPipelining: this.config.autoPipelining }),
    ) as Redis & StoreCommand;
    client.defineCommand('celeriacStoreResults', { lua: STORE_RESULTS_LUA });
    client.on('error', (error: Error) => this.logger.warn({ err: error }, 'result backend connection error'));
    try {
      await client.connect();
    } catch (error) {
      client.disconnect();
      throw new Error(
        `cannot connect to the Redis result backend at ${this.safeUrl}: ${(error as Error).message}`,
        {
          cause: error,
        },
      );
    }
    if (this.released) {
      client.disconnect();
      throw new BackendClosedError('redis');
    }
    this.client = client;
  }

  private ensureSubscriber(): RedisSubscriptions {
    if (this.subscriptions) return this.subscriptions;
    // ioredis would re-subscribe by itself; we do it so we know when to re-check with MGET.
    const subscriber = new Redis(
      this.redisOptions('sub', { autoResubscribe: false, maxRetriesPerRequest: null }),
    );
    const subscriptions = new RedisSubscriptions(subscriber);
    let readyBefore = false;
    subscriber.on('ready', () => {
      if (readyBefore) void this.recheckAfterReconnect(subscriptions);
      readyBefore = true;
    });
    subscriber.on('message', (channel: string, text: string) => this.onPublished(channel, text));
    subscriber.on('error', (error: Error) =>
      this.logger.warn({ err: error }, 'result subscriber connection error'),
    );
    this.subscriber = subscriber;
    this.subscriptions = subscriptions;
    return subscriptions;
  }

  private onPublished(channel: string, text: string): void {
    if (!channel.startsWith(TASK_META_PREFIX)) return;
    const taskId = channel.slice(TASK_META_PREFIX.length);
    let meta: ResultMeta;
    try {
      meta = decodeResultMeta(taskId, text);
    } catch (error) {
      this.logger.warn({ err: error, taskId }, 'ignoring an unreadable result announcement');
      return;
    }
    this.accept(meta);
  }

  /** A state arrived (PUBLISH or re-check): remember ready ones, stop listening, wake waiters. */
  private accept(meta: ResultMeta): void {
    if (isReady(meta.status)) {
      this.recent.set(meta);
      this.subscriptions?.unwant(taskMetaKey(meta.task_id));
    }
    this.waiters.notify(meta);
  }

  /** A PUBLISH may have been missed while the subscriber was down: subscribe again, then MGET. */
  private async recheckAfterReconnect(subscriptions: RedisSubscriptions): Promise<void> {
    try {
      await subscriptions.resubscribeAll();
      const ids = [
        ...new Set([
          ...this.waiters.ids(),
          ...[...subscriptions.channels()].map((c) => c.slice(TASK_META_PREFIX.length)),
        ]),
      ];
      this.logger.info({ pending: ids.length }, 'result subscriber reconnected; re-checking pending results');
      const client = await this.commands();
      for (let start = 0; start < ids.length; start += MGET_CHUNK) {
        const chunk = ids.slice(start, start + MGET_CHUNK);
        const values = await client.mget(...chunk.map(taskMetaKey));
        values.forEach((text, i) => {
          const taskId = chunk[i]!;
          if (text !== null) this.onPublished(taskMetaKey(taskId), text);
        });
      }
    } catch (error) {
      if (!this.closed)
        this.logger.warn({ err: error }, 'could not re-check pending results after a reconnect');
    }
  }

  private redisOptions(role: 'cmd' | 'sub', extra: Record<string, unknown>) {
    const c = this.config;
    return {
      host: c.host,
      port: c.port,
      db: c.db,
      username: c.username,
      password: c.password,
      tls: c.tls ? {} : undefined,
      connectionName: `${c.connectionName}:${role}`,
      lazyConnect: true,
      ...extra,
    };
  }
}

async function quit(connection: Redis | undefined): Promise<void> {
  if (!connection) return;
  try {
    if (connection.status === 'ready') await connection.quit();
    else connection.disconnect();
  } catch {
    connection.disconnect();
  }
}

/** Waits for the promise, but no longer than `ms`. */
async function withinMs(promise: Promise<unknown>, ms: number): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  await Promise.race([promise, new Promise<void>((resolve) => (timer = setTimeout(resolve, ms)))]);
  clearTimeout(timer);
}
