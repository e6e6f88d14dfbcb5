import { Redis } from 'ioredis';
import { afterAll, expect, it } from 'vitest';
import { encodeTaskMessage } from '../../src/protocol/codec.ts';
import { RedisTransport } from '../../src/transports/redis/redis-transport.ts';
import { silentLogger } from '../../src/util/logger.ts';
import { describeWith, SERVICES, uniqueName } from '../helpers/services.ts';
import { waitFor } from '../transport-conformance.ts';

// Database 15 belongs to this file: flushed at the end.
const URL = `redis://${SERVICES.redis.host}:${SERVICES.redis.port}/15`;
const COUNT = 20_000;

await describeWith(['redis'], 'redis transport: throughput', () => {
  const raw = new Redis(URL);

  afterAll(async () => {
    await raw.flushdb();
    raw.disconnect();
  });

  it(`publishes, then consumes and acks, ${COUNT} Celery task messages`, async () => {
    const q = uniqueName('bench');
    const t = new RedisTransport(URL, {
      logger: silentLogger,
      heartbeatMs: 0,
      connectionMaxRetries: 3,
      options: {},
    });
    try {
      await t.connect();
      // Celery's 16 headers, as a Python or Celeriac client sends them.
      const messages = Array.from({ length: COUNT }, (_, i) =>
        encodeTaskMessage({
          args: [i, i],
          kwargs: {},
          replyTo: 'client-oid',
          headers: {
            lang: 'py',
            task: 'tasks.add',
            id: `00000000-0000-4000-8000-${String(i).padStart(12, '0')}`,
            shadow: null,
            eta: null,
            expires: null,
            group: null,
            group_index: null,
            retries: 0,
            timelimit: [null, null],
            root_id: `00000000-0000-4000-8000-${String(i).padStart(12, '0')}`,
            parent_id: null,
            argsrepr: `(${i}, ${i})`,
            kwargsrepr: '{}',
            origin: 'gen1@bench',
            ignore_result: false,
          },
        }),
      );
      let started = performance.now();
      // 500 publishes in flight at a time, as a busy web app would have.
      for (let i = 0; i < COUNT; i += 500) {
        await Promise.all(
          messages.slice(i, i + 500).map((m) => t.publish(m, { exchange: '', routingKey: q })),
        );
      }
      const publishRate = COUNT / ((performance.now() - started) / 1000);
      expect(await t.queueLength(q)).toBe(COUNT);

      started = performance.now();
      let consumed = 0;
      const consumer = await t.consume([q], { prefetch: 200 }, (d) => {
        consumed++;
        d.ack();
      });
      await waitFor(() => consumed === COUNT, 25_000);
      await waitFor(async () => (await raw.hlen('unacked')) === 0, 5000);
      const consumeRate = COUNT / ((performance.now() - started) / 1000);
      await consumer.cancel();

      console.log(
        `redis transport: publish ${publishRate.toFixed(0)} msg/s, consume+ack ${consumeRate.toFixed(0)} msg/s (${COUNT} messages)`,
      );
      expect(await raw.zcard('unacked_index')).toBe(0);
      // A floor far below what it does, to catch a per-message round trip creeping back in.
      expect(publishRate).toBeGreaterThan(1000);
      expect(consumeRate).toBeGreaterThan(1000);
    } finally {
      await t.close();
    }
  }, 60_000);
});
