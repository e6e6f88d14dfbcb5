import { encodeJson } from '../protocol/json.ts';
import type { ExchangeSpec } from '../transports/transport.ts';
import type { Celeriac } from './celeriac.ts';

/** The remote-control request exchange (kombu/pidbox.py, §7.1). */
export const PIDBOX_EXCHANGE: ExchangeSpec = {
  name: 'celery.pidbox',
  type: 'fanout',
  durable: false,
  autoDelete: false,
};

export interface BroadcastOptions {
  /** Node names to address; every node when absent. */
  destination?: string[];
}

/**
 * Sends remote-control commands to workers over the `celery.pidbox` fanout exchange. Casts only
 * here; commands that collect replies (inspect) live in the worker runtime's control client.
 */
export class Control {
  private clock = 0;
  constructor(private readonly app: Celeriac) {}

  /** Broadcasts a command without waiting for replies (a cast). */
  async broadcast(
    method: string,
    args: Record<string, unknown> = {},
    options: BroadcastOptions = {},
  ): Promise<void> {
    const transport = await this.app.connection();
    await transport.declareExchange(PIDBOX_EXCHANGE);
    const body = {
      method,
      arguments: args,
      destination: options.destination ?? null,
      pattern: null,
      matcher: null,
    };
    await transport.publish(
      {
        body: Buffer.from(encodeJson(body)),
        properties: {
          contentType: 'application/json',
          contentEncoding: 'utf-8',
          deliveryMode: 1,
          headers: { clock: ++this.clock, expires: 0 },
        },
      },
      { exchange: PIDBOX_EXCHANGE.name, routingKey: '' },
    );
  }

  /** Tells workers not to run these tasks; `terminate` also stops them if running. */
  revoke(taskId: string | string[], options: { terminate?: boolean; signal?: string } = {}): Promise<void> {
    return this.broadcast('revoke', {
      task_id: taskId,
      terminate: options.terminate ?? false,
      signal: options.signal ?? 'SIGTERM',
    });
  }
}
