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
import { STORE_RESULT_LUA, TASK_META_PREFIX, taskMetaKey } from './redis-store-script.ts';
import { RedisSubscriptions } from './redis-subscriptions.ts';
import { RedisChordCounter } from './redis-chord.ts';

/** The custom command `defineCommand` adds (see redis-store-script.ts for its inputs and output). */
interface StoreCommand {
  celeriacStoreResult(key: string, json: string, ttlMs: string): Promise<number>;
}

/** How long `onTaskSent` waits for a subscription while the subscriber is (re)connecting. */
const SUBSCRIBE_WAIT_MS = 1000;

/** How many keys one MGET asks for when re-checking after a reconnect. */
const MGET_CHUNK = 1000;

/**
 * `redis://[[user]:pass@]host:port/db`: results as Celery's Redis backend keeps them (§4.2).
 * One connection stores and reads (concurrent stores go out back to back without waiting for each
 * reply); a second, opened on first wait, hears each result's PUBLISH. Waiting never polls.
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
    this.waiters.cancelAll(new BackendClosedError('redis'));
    this.subscriptions?.clear();
    this.recent.clear();
    await Promise.all([quit(this.client), quit(this.subscriber)]);
  }

  async store(meta: ResultMeta, context: StoreContext): Promise<void> {
    const json = encodeResultMeta(meta);
    const ttlMs = this.ttlMs(context);
    const client = await this.commands();
    const stored = await client.celeriacStoreResult(
      taskMetaKey(meta.task_id),
      json,
      ttlMs === null ? '' : String(ttlMs),
    );
    if (stored === 0) {
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

  /** Celery's `on_task_call`: listen before the task is published, bounded by `maxSubscriptions`. */
  async onTaskSent(taskId: string): Promise<void> {
    if (this.closed) return;
    const subscriptions = this.ensureSubscriber();
    const subscribed = subscriptions.want(taskMetaKey(taskId));
    subscriptions.trim(
      this.config.maxSubscriptions,
      (channel) => !this.waiters.has(channel.slice(TASK_META_PREFIX.length)),
    );
    const log = (error: unknown) =>
      this.logger.warn({ err: error, taskId }, 'could not subscribe to a result channel');
    const settled = subscribed.catch(log);
    // Sending must not stall while the result connection is down: waitReady subscribes and reads
    // again anyway, so the early subscription is only an optimisation. Wait a little, not forever.
    if (this.subscriber?.status === 'ready') await settled;
    else await withinMs(settled, SUBSCRIBE_WAIT_MS);
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

  private async fetch(taskId: string): Promise<ResultMeta | undefined> {
    const client = await this.commands();
    const text = await client.get(taskMetaKey(taskId));
    return text === null ? undefined : decodeResultMeta(taskId, text);
  }

  private async openClient(): Promise<void> {
    const client = new Redis(
      this.redisOptions('cmd', { enableAutoPipelining: this.config.autoPipelining }),
    ) as Redis & StoreCommand;
    client.defineCommand('celeriacStoreResult', { numberOfKeys: 1, lua: STORE_RESULT_LUA });
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
    if (this.closed) {
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
