import type { ChannelModel, ConfirmChannel } from 'amqplib';
import type { AmqpConnection } from './amqp-connection.ts';
import { AmqpClosedError, AmqpPublishError } from './amqp-errors.ts';
import type { AmqpPublishOptions } from './amqp-properties.ts';

/**
 * Publishes on one confirm channel. Each publish resolves on the broker's ack and rejects on its nack or
 * when the channel closes first; publishes are pipelined (many in flight, confirms matched by amqplib in
 * order), never serialised on each confirm. While the connection is down, publishes wait for it up to
 * `publishTimeoutMs`, then reject.
 */
export class AmqpPublisher {
  private channel: ConfirmChannel | undefined;
  private channelModel: ChannelModel | undefined;
  private opening: Promise<ConfirmChannel> | undefined;
  /** Why the channel closed (amqplib gives each pending confirm only "channel closed"). */
  private closeReason: Error | undefined;
  /** Set while the socket buffer is full: new publishes wait for 'drain' instead of piling up in memory. */
  private drained: Promise<void> | undefined;
  private closed = false;

  constructor(
    private readonly connection: AmqpConnection,
    private readonly publishTimeoutMs: number,
  ) {}

  /** Opens the confirm channel on a (new) connection; run by the connection's restore hook. */
  async openOn(model: ChannelModel): Promise<ConfirmChannel> {
    const channel = await model.createConfirmChannel();
    channel.on('error', (error: Error) => (this.closeReason = error));
    channel.on('close', () => {
      if (this.channel !== channel) return;
      this.channel = undefined;
      this.drained = undefined;
    });
    this.closeReason = undefined;
    this.channel = channel;
    this.channelModel = model;
    return channel;
  }

  publish(exchange: string, routingKey: string, body: Buffer, options: AmqpPublishOptions): Promise<void> {
    if (this.closed)
      return Promise.reject(new AmqpClosedError('cannot publish: the AMQP transport is closed'));
    const channel = this.channel;
    if (channel && !this.drained && this.channelModel === this.connection.current) {
      return this.send(channel, exchange, routingKey, body, options);
    }
    return this.publishWhenReady(exchange, routingKey, body, options);
  }

  /** Waits for outstanding confirms (bounded), then closes the channel. */
  async close(timeoutMs: number): Promise<void> {
    this.closed = true;
    const channel = this.channel;
    this.channel = undefined;
    if (!channel) return;
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([
      channel.waitForConfirms().catch(() => undefined),
      new Promise((resolve) => (timer = setTimeout(resolve, timeoutMs))),
    ]);
    clearTimeout(timer);
    await channel.close().catch(() => undefined);
  }

  private async publishWhenReady(
    exchange: string,
    routingKey: string,
    body: Buffer,
    options: AmqpPublishOptions,
  ): Promise<void> {
    const deadline = Date.now() + this.publishTimeoutMs;
    for (;;) {
      if (this.drained) await this.drained;
      const model = await this.connection.waitForConnection(Math.max(1, deadline - Date.now()));
      if (this.closed) throw new AmqpClosedError('cannot publish: the AMQP transport is closed');
      let channel = this.channelModel === model ? this.channel : undefined;
      if (!channel) {
        this.opening ??= this.openOn(model).finally(() => (this.opening = undefined));
        try {
          channel = await this.opening;
        } catch (error) {
          // The connection is going down under us (its 'close' comes a moment after its channels'): nothing
          // was sent, so wait for the reconnection like any other publish while disconnected.
          if (Date.now() >= deadline) throw error;
          await new Promise((resolve) => setTimeout(resolve, 50));
          continue;
        }
      }
      if (!this.drained) return this.send(channel, exchange, routingKey, body, options);
    }
  }

  private send(
    channel: ConfirmChannel,
    exchange: string,
    routingKey: string,
    body: Buffer,
    options: AmqpPublishOptions,
  ): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      let writable: boolean;
      try {
        writable = channel.publish(exchange, routingKey, body, options, (error: unknown) => {
          if (error == null) resolve();
          else reject(this.explain(error, exchange, routingKey));
        });
      } catch (error) {
        // Thrown before anything was sent: a table amqplib cannot encode, or a channel closed this instant.
        const invalid = error instanceof RangeError || error instanceof TypeError;
        reject(
          new AmqpPublishError(
            invalid ? 'AMQP_PUBLISH_INVALID' : 'AMQP_PUBLISH_UNCONFIRMED',
            `cannot publish to ${describeRoute(exchange, routingKey)}: ${(error as Error).message}`,
            { cause: error },
          ),
        );
        return;
      }
      if (!writable && !this.drained) {
        this.drained = new Promise<void>((done) => {
          const release = () => {
            channel.off('drain', release);
            channel.off('close', release);
            if (this.channel === channel || !this.channel) this.drained = undefined;
            done();
          };
          channel.on('drain', release);
          channel.on('close', release);
        });
      }
    });
  }

  private explain(error: unknown, exchange: string, routingKey: string): AmqpPublishError {
    const route = describeRoute(exchange, routingKey);
    if (error instanceof Error && error.message === 'message nacked') {
      return new AmqpPublishError(
        'AMQP_PUBLISH_NACKED',
        `the broker refused (nacked) the message to ${route}`,
        {
          cause: error,
        },
      );
    }
    const reason = this.closeReason ?? error;
    return new AmqpPublishError(
      'AMQP_PUBLISH_UNCONFIRMED',
      `the channel closed before the broker confirmed the message to ${route}; it may or may not have been delivered: ` +
        (reason instanceof Error ? reason.message : String(reason)),
      { cause: reason },
    );
  }
}

function describeRoute(exchange: string, routingKey: string): string {
  return exchange === ''
    ? `queue ${JSON.stringify(routingKey)}`
    : `exchange ${JSON.stringify(exchange)} (routing key ${JSON.stringify(routingKey)})`;
}
