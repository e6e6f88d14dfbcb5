/**
 * Removes what an interop test left on the shared broker and Redis: its durable queues, the
 * direct exchanges Python declares with the same names, and the result keys of its task ids.
 */
import { connect } from 'amqplib';
import { Redis } from 'ioredis';
import { AMQP_URL, REDIS_URL } from './harness.ts';

/** Deletes queues and the same-named exchanges (Celery declares `Exchange(queue)` for each queue). */
export async function deleteQueues(names: readonly string[]): Promise<void> {
  const connection = await connect(AMQP_URL);
  try {
    const channel = await connection.createChannel();
    for (const name of names) {
      // Neither call fails on a missing queue or exchange (RabbitMQ >= 3.6).
      await channel.deleteQueue(name);
      await channel.deleteExchange(name);
    }
    await channel.close();
  } finally {
    await connection.close();
  }
}

/** Deletes `celery-task-meta-<id>` keys from the given Redis db. */
export async function deleteResults(db: number, taskIds: readonly string[]): Promise<void> {
  if (taskIds.length === 0) return;
  const redis = new Redis(`${REDIS_URL}/${db}`, { lazyConnect: true, maxRetriesPerRequest: 1 });
  try {
    await redis.connect();
    await redis.del(...taskIds.map((id) => `celery-task-meta-${id}`));
  } finally {
    redis.disconnect();
  }
}
