import type { Channel, ChannelModel } from 'amqplib';
import type { AmqpConnection } from './amqp-connection.ts';
import { AmqpTransportError } from './amqp-errors.ts';
import { openChannel } from './amqp-topology.ts';

/**
 * Declarations, purges and counts on one plain channel, one at a time: a broker error on any of them
 * (404, 406) closes the channel, so running them in turn means an error fails only its own call, and the
 * next call opens a fresh channel.
 */
export class AmqpOperations {
  private channel: Channel | undefined;
  /** The connection `channel` belongs to: after a reconnection it is stale. */
  private channelModel: ChannelModel | undefined;
  private tail: Promise<unknown> = Promise.resolve();

  constructor(
    private readonly connection: AmqpConnection,
    private readonly timeoutMs: number,
  ) {}

  run<T>(what: string, operation: (channel: Channel) => Promise<T>): Promise<T> {
    const result = this.tail.then(() => this.runNow(what, operation));
    this.tail = result.catch(() => undefined);
    return result;
  }

  /** Closes the channel; operations still waiting for a connection fail when the connection closes. */
  async close(): Promise<void> {
    const channel = this.channel;
    this.channel = undefined;
    await channel?.close().catch(() => undefined);
  }

  private async runNow<T>(what: string, operation: (channel: Channel) => Promise<T>): Promise<T> {
    const model = await this.connection.waitForConnection(this.timeoutMs);
    let channel = this.channel;
    if (!channel || this.channelModel !== model) {
      channel = await openChannel(model);
      this.channelModel = model;
      channel.on('close', () => {
        if (this.channel === channel) this.channel = undefined;
      });
      this.channel = channel;
    }
    try {
      return await operation(channel);
    } catch (error) {
      const message = error instanceof Error ? error.message : String(error);
      const code =
        typeof (error as { code?: unknown }).code === 'number'
          ? `AMQP_${(error as { code: number }).code}`
          : 'AMQP_OPERATION_FAILED';
      throw new AmqpTransportError(code, `${what} failed: ${message}`, { cause: error });
    }
  }
}
