/**
 * Priorities on the Redis broker (§3.3): kombu's steps [0, 3, 6, 9], one list per step, and a LOWER
 * number is served first (the reverse of RabbitMQ). The same routes give the same wire priority.
 */
import { afterAll, expect, it } from 'vitest';
import { Celeriac } from '../../src/index.ts';
import { decodeTaskMessage } from '../../src/protocol/codec.ts';
import type { Delivery } from '../../src/transports/transport.ts';
import { describeWith, SERVICES, uniqueName } from '../helpers/services.ts';
import { waitFor } from '../worker/helpers.ts';

await describeWith(['redis'], 'routing: priorities on Redis', () => {
  const queue = uniqueName('redis-prio');
  const app = new Celeriac({
    broker: `${SERVICES.redis.url}/12`,
    defaultQueue: queue,
    taskRoutes: { 'p.urgent': { queue, priority: 0 } },
  });
  afterAll(async () => {
    const transport = await app.connection();
    await transport.deleteQueue(queue);
    await app.close();
  });

  it('serves priority 0 first, then the step of 5 (3), then 9; routes set the priority too', async () => {
    await app.sendTask('p.task', ['nine'], {}, { priority: 9 });
    await app.sendTask('p.task', ['five'], {}, { priority: 5 });
    await app.sendTask('p.urgent', ['zero']);
    const transport = await app.connection();
    const seen: Delivery[] = [];
    const consumer = await transport.consume([queue], { prefetch: 1 }, (d) => {
      seen.push(d);
      d.ack();
    });
    await waitFor(() => seen.length === 3, 5000, 'three deliveries');
    await consumer.cancel();
    const messages = seen.map((d) => decodeTaskMessage(d.message));
    expect(messages.map((m) => m.args[0])).toEqual(['zero', 'five', 'nine']);
    expect(messages.map((m) => m.priority)).toEqual([0, 5, 9]);
  });
});
