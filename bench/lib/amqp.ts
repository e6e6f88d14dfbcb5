import amqp, { type Channel, type ChannelModel, type ConfirmChannel } from 'amqplib';
import type { CeleryMessage } from './celery-message.ts';

/** Opens a raw amqplib connection (the baseline client, and the harness's own view of the broker). */
export function openAmqp(url: string): Promise<ChannelModel> {
  return amqp.connect(url);
}

/**
 * Declares a queue the way Celery 5.2 does for `-Q <name>` (celery/app/amqp.py, §2.1 of the
 * protocol brief): a durable direct exchange and a durable queue of the same name, no arguments,
 * bound with the queue's name. Python and Celeriac workers then re-declare it without a 406.
 */
export async function declareCeleryQueue(conn: ChannelModel, name: string): Promise<void> {
  const ch = await conn.createChannel();
  try {
    await ch.assertExchange(name, 'direct', { durable: true, autoDelete: false });
    await ch.assertQueue(name, { durable: true, exclusive: false, autoDelete: false });
    await ch.bindQueue(name, name, name);
  } finally {
    await ch.close();
  }
}

/** Deletes the queue and its exchange; tolerant, since a scenario that failed may have left neither. */
export async function deleteCeleryQueue(conn: ChannelModel, name: string): Promise<void> {
  for (const op of [(ch: Channel) => ch.deleteQueue(name), (ch: Channel) => ch.deleteExchange(name)]) {
    const ch = await conn.createChannel();
    ch.on('error', () => {});
    try {
      await op(ch);
      await ch.close();
    } catch {
      // 404 closes the channel: nothing to clean up.
    }
  }
}

/**
 * Publishes `count` messages to the default exchange with publisher confirms, at most `window`
 * unconfirmed at a time, and honours the socket's back-pressure (`drain`). Resolves when the last
 * confirm arrives; rejects on the first nack.
 */
export function publishConfirmed(
  ch: ConfirmChannel,
  queue: string,
  count: number,
  make: (index: number) => CeleryMessage,
  window: number,
  onProgress?: (confirmed: number) => void,
): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    let sent = 0;
    let confirmed = 0;
    let inFlight = 0;
    let blocked = false;
    let failed = false;
    const onConfirm = (err: unknown) => {
      inFlight--;
      if (failed) return;
      if (err) {
        failed = true;
        reject(err instanceof Error ? err : new Error(`publish nacked: ${String(err)}`));
        return;
      }
      confirmed++;
      if ((confirmed & 1023) === 0) onProgress?.(confirmed);
      if (confirmed === count) resolve();
      else if (!blocked) pump();
    };
    const pump = () => {
      while (sent < count && inFlight < window) {
        const message = make(sent);
        sent++;
        inFlight++;
        if (!ch.publish('', queue, message.body, message.options, onConfirm)) {
          blocked = true;
          ch.once('drain', () => {
            blocked = false;
            pump();
          });
          return;
        }
      }
    };
    if (count === 0) resolve();
    else pump();
  });
}

/** Ready messages and consumers on a queue (a passive declare: cheap, no management plugin needed). */
export async function queueDepth(ch: Channel, name: string): Promise<{ ready: number; consumers: number }> {
  const reply = await ch.checkQueue(name);
  return { ready: reply.messageCount, consumers: reply.consumerCount };
}

/** `queueDepth` on a short-lived channel of `conn`. */
export async function queueDepthOn(
  conn: ChannelModel,
  name: string,
): Promise<{ ready: number; consumers: number }> {
  const ch = await conn.createChannel();
  try {
    return await queueDepth(ch, name);
  } finally {
    await ch.close().catch(() => {});
  }
}
