import type { ChannelModel, ConsumeMessage } from 'amqplib';
import type { ConsumeOptions, Consumer, DeliveryHandler } from '../transport.ts';
import type { AmqpConnection } from './amqp-connection.ts';
import { stripDelayDeathHeaders } from './amqp-delay.ts';
import { AmqpDelivery, ConsumerSession } from './amqp-delivery.ts';
import { fromAmqpProperties } from './amqp-properties.ts';
import type { AmqpTransportConfig } from './amqp-transport-config.ts';

/**
 * One `consume()` call: its own channel, so its prefetch is its own (`basic.qos` with global=true, as Celery
 * does on RabbitMQ >= 3.3, `kombu/transport/pyamqp.py` `qos_semantics_matches_spec`) and a channel error
 * (consumer_timeout, a deleted queue) hurts no one else. After a lost connection or channel it resumes
 * with the same handler.
 */
export class AmqpConsumer implements Consumer {
  private session: ConsumerSession | undefined;
  private prefetch: number;
  private cancelled = false;
  private retryTimer: NodeJS.Timeout | undefined;
  private retryAttempt = 0;

  constructor(
    private readonly connection: AmqpConnection,
    private readonly queues: readonly string[],
    private readonly options: ConsumeOptions,
    private readonly onDelivery: DeliveryHandler,
    private readonly config: AmqpTransportConfig,
    private readonly onCancelled: (consumer: AmqpConsumer) => void,
    /** Celery's global QoS, except on quorum queues, which refuse it. */
    private readonly globalQos = true,
  ) {
    this.prefetch = options.prefetch;
  }

  /** Opens the channel and starts consuming; rejects (consuming nothing) if any queue cannot be consumed. */
  async start(model: ChannelModel): Promise<void> {
    await this.open(model);
  }

  /** Resumes on a new connection (a restore hook); a failure is retried later rather than failing the reconnection. */
  async resume(model: ChannelModel): Promise<void> {
    if (this.cancelled) return;
    this.session = undefined;
    try {
      await this.open(model);
    } catch (error) {
      this.scheduleRetry(error as Error);
    }
  }

  async setPrefetch(count: number): Promise<void> {
    this.prefetch = count;
    const session = this.session;
    if (session?.alive && !this.options.noAck) await session.channel.prefetch(count, this.globalQos);
  }

  /** Stops new deliveries; the channel stays open until deliveries already handed out are settled. */
  async cancel(): Promise<void> {
    if (this.cancelled) return;
    this.cancelled = true;
    clearTimeout(this.retryTimer);
    this.onCancelled(this);
    const session = this.session;
    if (!session?.alive) return;
    for (const tag of [...session.tags.keys()]) {
      await session.channel.cancel(tag).catch(() => undefined);
    }
    session.tags.clear();
    if (session.outstanding === 0) await this.closeSession(session);
  }

  /** For `transport.close()`: cancel, send pending acks, close the channel (the broker requeues the unsettled). */
  async close(): Promise<void> {
    await this.cancel();
    const session = this.session;
    if (session?.alive) await this.closeSession(session);
  }

  private async open(model: ChannelModel): Promise<void> {
    const channel = await model.createChannel();
    const session = new ConsumerSession(channel, model, this.config.ackBatchSize, () => {
      if (this.cancelled && session.tags.size === 0) void this.closeSession(session);
    });
    channel.on('error', (error: Error) => (session.error = error));
    channel.on('close', () => this.onChannelClosed(session));
    try {
      if (!this.options.noAck) await channel.prefetch(this.prefetch, this.globalQos);
      for (const queue of this.queues) {
        const { consumerTag } = await channel.consume(
          queue,
          (message) => this.onMessage(session, queue, message),
          {
            noAck: this.options.noAck ?? false,
          },
        );
        session.tags.set(consumerTag, queue);
      }
    } catch (error) {
      session.end();
      await channel.close().catch(() => undefined);
      throw session.error ?? error;
    }
    this.session = session;
    this.retryAttempt = 0;
    if (this.cancelled) await this.cancelAfterOpen(session);
  }

  private onMessage(session: ConsumerSession, queue: string, message: ConsumeMessage | null): void {
    if (message === null) {
      // The broker cancelled us (the queue was deleted): nothing more will come from it.
      for (const [tag, name] of session.tags) if (name === queue) session.tags.delete(tag);
      this.config.logger.warn({ queue }, `the broker cancelled consuming from queue ${queue} (deleted?)`);
      return;
    }
    const properties = fromAmqpProperties(message.properties);
    stripDelayDeathHeaders(properties.headers, this.config.delayPrefix);
    const acked = !this.options.noAck;
    if (acked) session.outstanding++;
    const delivery = new AmqpDelivery(
      { body: message.content, properties },
      queue,
      message.fields,
      acked ? session : undefined,
    );
    try {
      this.onDelivery(delivery);
    } catch (error) {
      // The delivery stays unacked: the broker gives it back when the channel closes. Nothing is lost.
      this.config.logger.error({ err: error, queue }, `delivery handler threw: ${(error as Error).message}`);
    }
  }

  private onChannelClosed(session: ConsumerSession): void {
    session.end();
    if (this.session !== session) return;
    this.session = undefined;
    if (this.cancelled || this.connection.isClosing) return;
    // Without a broker error the whole connection went; its reconnection resumes us.
    if (session.error) this.scheduleRetry(session.error);
  }

  /** The connection is fine but our channel is not: reopen it after a back-off. */
  private scheduleRetry(error: Error): void {
    if (this.cancelled || this.retryTimer) return;
    this.retryAttempt++;
    const delayMs = Math.min(
      this.config.reconnectMaxDelayMs,
      this.config.reconnectInitialDelayMs * 2 ** Math.min(this.retryAttempt - 1, 20),
    );
    this.config.logger.warn(
      { queues: this.queues, err: error.message, delayMs },
      `consumer channel for ${this.queues.join(', ')} closed: ${error.message}; resuming in ${delayMs} ms`,
    );
    this.retryTimer = setTimeout(() => {
      this.retryTimer = undefined;
      const model = this.connection.current;
      // No live connection: the reconnection's restore hook resumes us instead.
      if (!model || this.session || this.cancelled) return;
      this.open(model).catch((retryError: Error) => this.scheduleRetry(retryError));
    }, delayMs);
  }

  private async cancelAfterOpen(session: ConsumerSession): Promise<void> {
    for (const tag of [...session.tags.keys()]) await session.channel.cancel(tag).catch(() => undefined);
    session.tags.clear();
    if (session.outstanding === 0) await this.closeSession(session);
  }

  private async closeSession(session: ConsumerSession): Promise<void> {
    if (!session.alive) return;
    session.acks.flush();
    session.end();
    await session.channel.close().catch(() => undefined);
  }
}
