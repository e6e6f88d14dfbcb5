import amqplib, { type ChannelModel } from 'amqplib';
import type { TransportStatus } from '../transport.ts';
import { AmqpClosedError, AmqpConnectError, AmqpPublishError } from './amqp-errors.ts';
import type { AmqpTransportConfig } from './amqp-transport-config.ts';

/** Runs after every (re)connection, before the connection counts as usable: re-declare, reopen, resume. */
export type ConnectionHook = (model: ChannelModel) => Promise<void>;

type State = 'idle' | 'connecting' | 'connected' | 'reconnecting' | 'closing' | 'closed' | 'failed';

interface Waiter {
  resolve: (model: ChannelModel) => void;
  reject: (error: Error) => void;
  timer: NodeJS.Timeout | undefined;
}

/**
 * One AMQP connection kept alive: connects with exponential back-off plus jitter, logs a lost connection
 * once, reconnects, and runs the hooks that restore channels, declarations and consumers before anyone
 * sees it as connected again.
 */
export class AmqpConnection {
  private state: State = 'idle';
  private model: ChannelModel | undefined;
  private lastError: Error | undefined;
  private failure: Error | undefined;
  private establishing: Promise<void> | undefined;
  private wakeUp: (() => void) | undefined;
  private readonly hooks: ConnectionHook[] = [];
  private readonly waiters = new Set<Waiter>();
  private readonly listeners = new Set<(status: TransportStatus) => void>();
  /** connect() callers still waiting: close() rejects them at once, whatever attempt is under way. */
  private readonly connectCallers = new Set<(error: Error) => void>();

  constructor(private readonly config: AmqpTransportConfig) {}

  /** The live connection, or undefined while connecting, reconnecting or closed. */
  get current(): ChannelModel | undefined {
    return this.state === 'connected' ? this.model : undefined;
  }

  get isClosing(): boolean {
    return this.state === 'closing' || this.state === 'closed';
  }

  addHook(hook: ConnectionHook): void {
    this.hooks.push(hook);
  }

  onStatus(listener: (status: TransportStatus) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  connect(): Promise<void> {
    switch (this.state) {
      case 'connected':
        return Promise.resolve();
      case 'closing':
      case 'closed':
        return Promise.reject(new AmqpClosedError());
      case 'failed':
        return Promise.reject(this.failure!);
      case 'idle':
        this.state = 'connecting';
        this.establishing = this.establish(false);
        return this.untilClosed(this.establishing);
      default:
        return this.establishing ? this.untilClosed(this.establishing) : Promise.resolve();
    }
  }

  /**
   * `establishing`, or a rejection as soon as close() is called: a process stopping while the
   * broker refuses it must not wait out a back-off or a connect timeout (issue 8).
   */
  private untilClosed(establishing: Promise<void>): Promise<void> {
    return new Promise((resolve, reject) => {
      this.connectCallers.add(reject);
      establishing.then(resolve, reject).finally(() => this.connectCallers.delete(reject));
    });
  }

  /** Resolves with the live connection, connecting first if nobody has; rejects after `timeoutMs`. */
  waitForConnection(timeoutMs: number): Promise<ChannelModel> {
    const model = this.current;
    if (model) return Promise.resolve(model);
    if (this.isClosing) return Promise.reject(new AmqpClosedError());
    if (this.state === 'failed') return Promise.reject(this.failure!);
    if (this.state === 'idle') this.connect().catch(() => undefined);
    return new Promise((resolve, reject) => {
      const waiter: Waiter = { resolve, reject, timer: undefined };
      waiter.timer = setTimeout(() => {
        this.waiters.delete(waiter);
        reject(
          new AmqpPublishError(
            'AMQP_PUBLISH_TIMEOUT',
            `no connection to ${this.config.safeUrl} within ${timeoutMs} ms` +
              (this.lastError ? ` (last error: ${this.lastError.message})` : ''),
            { cause: this.lastError },
          ),
        );
      }, timeoutMs);
      this.waiters.add(waiter);
    });
  }

  async close(): Promise<void> {
    if (this.state === 'closed') return;
    const model = this.model;
    this.state = 'closing';
    this.wakeUp?.();
    this.settleWaiters(new AmqpClosedError());
    for (const reject of this.connectCallers)
      reject(new AmqpClosedError('AMQP transport closed while connecting', { cause: this.lastError }));
    this.connectCallers.clear();
    if (model) {
      this.model = undefined;
      await model.close().catch(() => undefined);
    }
    this.state = 'closed';
    this.emit({ state: 'closed' });
  }

  private async establish(isReconnect: boolean): Promise<void> {
    const { logger, safeUrl, connectionMaxRetries } = this.config;
    for (let attempt = 1; ; attempt++) {
      try {
        await this.open();
        this.state = 'connected';
        if (isReconnect) logger.info({ url: safeUrl }, `reconnected to ${safeUrl}`);
        this.emit({ state: 'connected' });
        for (const waiter of [...this.waiters]) {
          clearTimeout(waiter.timer);
          this.waiters.delete(waiter);
          waiter.resolve(this.model!);
        }
        return;
      } catch (error) {
        if (this.isClosing)
          throw new AmqpClosedError('AMQP transport closed while connecting', { cause: error });
        const cause = asError(error);
        this.lastError = cause;
        if (connectionMaxRetries !== null && attempt > connectionMaxRetries) {
          const failure = new AmqpConnectError(
            `cannot connect to ${safeUrl} after ${attempt} attempt${attempt === 1 ? '' : 's'}: ${cause.message}`,
            { cause },
          );
          this.fail(failure);
          throw failure;
        }
        const delayMs = this.backoff(attempt);
        // A lost connection was already logged once; its retries are debug noise. A first connect is news.
        const level = isReconnect ? 'debug' : 'warn';
        logger[level](
          { url: safeUrl, attempt, delayMs, err: cause.message },
          `cannot connect to ${safeUrl}: ${cause.message}; retrying in ${delayMs} ms`,
        );
        this.emit({ state: 'reconnecting', attempt, delayMs });
        await this.sleep(delayMs);
      }
    }
  }

  private async open(): Promise<void> {
    const { target, connectTimeoutMs, connectionName } = this.config;
    const model = await amqplib.connect(
      // amqplib URL-decodes the vhost of an options object once more; encode it so `%` survives.
      { ...target, vhost: encodeURIComponent(target.vhost) },
      { timeout: connectTimeoutMs, noDelay: true, clientProperties: { connection_name: connectionName } },
    );
    if (this.isClosing) {
      await model.close().catch(() => undefined);
      throw new AmqpClosedError();
    }
    this.model = model;
    model.on('error', (error: Error) => (this.lastError = error));
    model.on('close', (error?: Error) => this.onClose(model, error));
    model.on('blocked', (reason: string) =>
      this.config.logger.warn({ url: this.config.safeUrl, reason }, `broker blocked publishing: ${reason}`),
    );
    model.on('unblocked', () =>
      this.config.logger.info({ url: this.config.safeUrl }, 'broker unblocked publishing'),
    );
    try {
      for (const hook of this.hooks) await hook(model);
      // Closed while the hooks ran (onClose cleared it): try again rather than call a dead connection live.
      if (this.model !== model) throw this.lastError ?? new Error('connection closed while restoring');
    } catch (error) {
      this.model = undefined;
      await model.close().catch(() => undefined);
      throw error;
    }
  }

  private onClose(model: ChannelModel, error: Error | undefined): void {
    if (model !== this.model) return;
    this.model = undefined;
    // While connecting, the failing hook reports it; while closing, it is expected.
    if (this.state !== 'connected') return;
    const cause = error ?? this.lastError ?? new Error('connection closed by the broker');
    this.lastError = cause;
    this.state = 'reconnecting';
    this.config.logger.warn(
      { url: this.config.safeUrl, err: cause.message },
      `lost connection to ${this.config.safeUrl}: ${cause.message}; reconnecting`,
    );
    this.emit({ state: 'disconnected', error: cause });
    // connect() callers get the outcome; nobody else awaits it, so mark the rejection handled.
    this.establishing = this.establish(true);
    this.establishing.catch(() => undefined);
  }

  private fail(failure: Error): void {
    this.state = 'failed';
    this.failure = failure;
    this.config.logger.error({ url: this.config.safeUrl, err: failure.message }, failure.message);
    this.settleWaiters(failure);
    this.emit({ state: 'closed' });
  }

  private settleWaiters(error: Error): void {
    for (const waiter of this.waiters) {
      clearTimeout(waiter.timer);
      waiter.reject(error);
    }
    this.waiters.clear();
  }

  /** Exponential back-off with ±20 % jitter, never above the cap (so herds of workers spread out). */
  private backoff(attempt: number): number {
    const { reconnectInitialDelayMs: first, reconnectMaxDelayMs: cap } = this.config;
    const base = Math.min(cap / 1.2, first * 2 ** Math.min(attempt - 1, 30));
    return Math.round(base * (0.8 + Math.random() * 0.4));
  }

  private sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(done, ms);
      function done(): void {
        clearTimeout(timer);
        resolve();
      }
      this.wakeUp = done;
    });
  }

  private emit(status: TransportStatus): void {
    for (const listener of this.listeners) {
      try {
        listener(status);
      } catch (error) {
        this.config.logger.error({ err: error }, 'transport status listener threw');
      }
    }
  }
}

export function asError(error: unknown): Error {
  return error instanceof Error ? error : new Error(String(error));
}
