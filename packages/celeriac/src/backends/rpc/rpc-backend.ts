import { pendingMeta, type ResultMeta } from '../../result/meta.ts';
import { States } from '../../result/states.ts';
import type { Logger } from '../../util/logger.ts';
import type { Consumer, Delivery, Transport } from '../../transports/transport.ts';
import type { BackendCapabilities, ResultBackend, StoreContext } from '../backend.ts';
import type { BackendOptions } from '../create-backend.ts';
import { BackendClosedError, ResultDecodeError } from '../errors.ts';
import { RecentResults } from '../recent-results.ts';
import { decodeResultMeta, encodeResultJson } from '../result-json.ts';
import { ResultWaiters } from '../waiters.ts';

/** Celery's default `result_expires` (1 day), used as the reply queue's `x-expires`. */
const DEFAULT_REPLY_QUEUE_EXPIRES_MS = 86_400_000;

/** States this client remembers; the least recently used beyond this are dropped. */
const REMEMBERED_RESULTS = 10_000;

/**
 * `rpc://`: results travel back over the broker to the client that sent the task (§4.3,
 * `celery/backends/rpc.py`). The client consumes a reply queue named after its oid; the worker
 * publishes every state to the request's `reply_to`. Results live in this client's memory only,
 * so only the sender can read them, and only while it runs.
 */
export class RpcBackend implements ResultBackend {
  readonly name = 'rpc';
  readonly safeUrl = 'rpc://';
  readonly capabilities: BackendCapabilities = Object.freeze({ persistent: false, clientBound: true });
  /** The reply queue's name: the `reply_to` of every task this client sends. */
  readonly oid: string;
  private readonly logger: Logger;
  private readonly getTransport: () => Promise<Transport>;
  private readonly replyQueueExpiresMs: number | null;
  private readonly results = new RecentResults(REMEMBERED_RESULTS);
  private readonly waiters = new ResultWaiters();
  private listening: Promise<Consumer> | undefined;
  private closed = false;

  constructor(url: string, options: BackendOptions) {
    if (!/^rpc:\/\/\/?$/i.test(url.trim())) {
      throw new TypeError(
        `rpc:// takes no host or path (results use the broker connection), got ${JSON.stringify(url)}`,
      );
    }
    if (!options.oid) throw new TypeError('rpc:// needs the client oid (the reply queue name)');
    this.oid = options.oid;
    this.logger = options.logger.child({ component: 'rpc-backend' });
    this.getTransport = options.getBrokerTransport;
    this.replyQueueExpiresMs =
      options.resultExpiresMs === null ? null : (options.resultExpiresMs ?? DEFAULT_REPLY_QUEUE_EXPIRES_MS);
  }

  /** Nothing to open: the broker connection is the app's, and the reply queue waits for a first task. */
  async connect(): Promise<void> {
    if (this.closed) throw new BackendClosedError('rpc');
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.waiters.cancelAll(new BackendClosedError('rpc'));
    const listening = this.listening;
    this.listening = undefined;
    // The transport belongs to the app, which closes it; the auto-delete queue goes with our consumer.
    const consumer = await listening?.catch(() => undefined);
    await consumer
      ?.cancel()
      .catch((error: unknown) => this.logger.debug({ err: error }, 'reply consumer cancel failed'));
  }

  /** Worker side: publishes the state to the client's reply queue. Without a `replyTo` there is no one to tell. */
  async store(meta: ResultMeta, context: StoreContext): Promise<void> {
    const taskId = meta.task_id;
    if (typeof taskId !== 'string' || taskId === '')
      throw new TypeError('cannot store a result without a task_id');
    // rpc.py `_to_result`: exactly these keys, no date_done.
    const body = encodeResultJson(taskId, {
      task_id: taskId,
      status: meta.status,
      result: meta.result ?? null,
      traceback: meta.traceback ?? null,
      children: meta.children ?? [],
    });
    if (!context.replyTo) {
      this.logger.warn({ taskId, status: meta.status }, 'rpc:// result dropped: the request has no reply_to');
      return;
    }
    const transport = await this.getTransport();
    await transport.publish(
      {
        body: Buffer.from(body, 'utf8'),
        properties: {
          contentType: 'application/json',
          contentEncoding: 'utf-8',
          correlationId: context.correlationId ?? taskId,
          deliveryMode: 1,
          headers: {},
        },
      },
      { exchange: '', routingKey: context.replyTo },
    );
  }

  async get(taskId: string): Promise<ResultMeta> {
    await this.listen();
    return this.results.get(taskId) ?? pendingMeta(taskId);
  }

  waitReady(taskId: string, options: { timeoutMs?: number; signal?: AbortSignal }): Promise<ResultMeta> {
    if (this.closed) return Promise.reject(new BackendClosedError('rpc'));
    return this.waiters.wait(taskId, options, async () => {
      await this.listen();
      return this.results.get(taskId);
    });
  }

  /** Declares and consumes the reply queue before the first task goes out, so no reply is lost. */
  async onTaskSent(): Promise<void> {
    await this.listen();
  }

  /** Results live only here; forgetting drops this client's copy. */
  async forget(taskId: string): Promise<void> {
    this.results.delete(taskId);
  }

  private async listen(): Promise<void> {
    if (this.closed) throw new BackendClosedError('rpc');
    this.listening ??= this.startListening();
    const listening = this.listening;
    listening.catch(() => {
      if (this.listening === listening) this.listening = undefined;
    });
    await listening;
  }

  private async startListening(): Promise<Consumer> {
    const transport = await this.getTransport();
    await transport.declareQueue({
      name: this.oid,
      durable: false,
      autoDelete: true,
      arguments:
        this.replyQueueExpiresMs === null ? {} : { 'x-expires': Math.round(this.replyQueueExpiresMs) },
    });
    return transport.consume([this.oid], { prefetch: 0, noAck: true }, (delivery) => this.onReply(delivery));
  }

  private onReply(delivery: Delivery): void {
    const { body, properties } = delivery.message;
    const correlationId = properties.correlationId ?? '';
    let meta: ResultMeta;
    try {
      meta = decodeResultMeta(correlationId, body.toString('utf8'));
    } catch (error) {
      const reason = error instanceof ResultDecodeError ? error.message : String(error);
      this.logger.warn(
        { correlationId, contentType: properties.contentType },
        `ignoring an unreadable rpc reply: ${reason}`,
      );
      return;
    }
    if (!meta.task_id) {
      this.logger.warn(
        { status: meta.status },
        'ignoring an rpc reply with neither task_id nor correlation_id',
      );
      return;
    }
    // SUCCESS is sticky here too: a late STARTED (or a duplicate reply) must not hide it.
    if (this.results.get(meta.task_id)?.status === States.SUCCESS) return;
    this.results.set(meta);
    this.waiters.notify(meta);
  }
}
