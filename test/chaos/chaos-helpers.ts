import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import type { ChannelModel } from 'amqplib';
import type { Redis } from 'ioredis';

const run = promisify(execFile);

/** Polls `check` every `everyMs` until it returns something truthy; throws with `what` after `timeoutMs`. */
export async function pollUntil<T>(
  check: () => T | Promise<T>,
  timeoutMs: number,
  what: string,
  everyMs = 200,
): Promise<NonNullable<T>> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value) return value as NonNullable<T>;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, everyMs));
  }
}

/** RabbitMQ's `max_message_size` (bytes), read from the running broker; 128 MiB (its default) if unreadable. */
export async function brokerMaxMessageSize(): Promise<number> {
  try {
    const { stdout } = await run('rabbitmqctl', ['eval', 'application:get_env(rabbit, max_message_size).'], {
      timeout: 20_000,
    });
    const match = /\{ok,(\d+)\}/.exec(stdout);
    if (match) return Number(match[1]);
  } catch {
    // rabbitmqctl missing or slow: fall back to the documented default.
  }
  return 128 * 1024 * 1024;
}

/** How many times each task ran, as recorded by the tasks themselves in a Redis hash (HINCRBY key id 1). */
export interface Tally {
  /** Distinct ids that ran at least once. */
  completed: number;
  /** Runs beyond the first, summed. */
  duplicates: number;
  /** Expected ids that never ran. */
  lost: number;
  /** Ids that ran but were never sent (would mean a counting bug). */
  unexpected: number;
}

/** Reads the run counts from `key` and compares them with the ids that were sent. */
export async function tally(redis: Redis, key: string, sent: Iterable<string>): Promise<Tally> {
  const runs = await redis.hgetall(key);
  const expected = new Set(sent);
  let completed = 0;
  let duplicates = 0;
  let unexpected = 0;
  for (const [id, count] of Object.entries(runs)) {
    if (!expected.has(id)) {
      unexpected++;
      continue;
    }
    completed++;
    duplicates += Number(count) - 1;
  }
  return { completed, duplicates, lost: expected.size - completed, unexpected };
}

/**
 * Ready messages in an AMQP queue, 0 while it does not exist yet (a passive declare of a missing queue
 * closes the channel, so each look uses a channel of its own).
 */
export async function queueDepth(connection: ChannelModel, queue: string): Promise<number> {
  const channel = await connection.createChannel();
  channel.on('error', () => undefined);
  try {
    return (await channel.checkQueue(queue)).messageCount;
  } catch (error) {
    if (/NOT_FOUND|404/.test((error as Error).message)) return 0;
    throw error;
  } finally {
    await channel.close().catch(() => undefined);
  }
}
