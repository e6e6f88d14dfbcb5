/**
 * A group of 10,000 is published in concurrent batches whose publisher confirms are pipelined,
 * not one confirm round trip after another: measured here against the real brokers.
 */
import { afterAll, expect, it } from 'vitest';
import { Celeriac, group, Signature } from '../../src/index.ts';
import { PUBLISH_BATCH } from '../../src/canvas/group.ts';
import { decodeTaskMessage } from '../../src/protocol/codec.ts';
import { describeWith, SERVICES, uniqueName } from '../helpers/services.ts';

const SIZE = 10_000;

for (const broker of ['rabbitmq', 'redis'] as const) {
  await describeWith([broker], `canvas: a group of ${SIZE} on ${broker}`, () => {
    const queue = uniqueName('big-group');
    const app = new Celeriac({
      broker: broker === 'redis' ? `${SERVICES.redis.url}/12` : SERVICES.rabbitmq.url,
      defaultQueue: queue,
    });
    afterAll(async () => {
      const transport = await app.connection();
      await transport.deleteQueue(queue);
      await app.close();
    });

    it(`publishes all ${SIZE} members with the group header, in batches of ${PUBLISH_BATCH}, faster than one by one`, async () => {
      const transport = await app.connection();
      await app.sendTask('g.warmup', [], {}, { ignoreResult: true });
      // One by one, each waiting for its confirm: the cost a batch avoids.
      const oneByOneCount = 300;
      let started = performance.now();
      for (let i = 0; i < oneByOneCount; i++) await app.sendTask('g.seq', [i]);
      const oneByOneRate = oneByOneCount / ((performance.now() - started) / 1000);

      const members = Array.from(
        { length: SIZE },
        (_, i) => new Signature('g.add', [i, i], {}, {}, false, null, app),
      );
      started = performance.now();
      const result = await group(members).applyAsync();
      const seconds = (performance.now() - started) / 1000;
      const rate = SIZE / seconds;
      console.log(
        `[${broker}] group of ${SIZE}: ${seconds.toFixed(2)} s (${Math.round(rate)}/s); one by one: ${Math.round(oneByOneRate)}/s`,
      );
      expect(result.results).toHaveLength(SIZE);
      expect(new Set(result.results.map((r) => r.id)).size).toBe(SIZE);
      expect(await transport.queueLength(queue)).toBe(SIZE + oneByOneCount + 1);
      expect(rate).toBeGreaterThan(oneByOneRate * 1.5);

      // Every member carries the group id; spot-check the first and last message.
      const purgedBefore = await transport.purge(queue);
      expect(purgedBefore).toBe(SIZE + oneByOneCount + 1);
      await group(members.slice(0, 2)).applyAsync([], { groupId: result.id });
      const seen: ReturnType<typeof decodeTaskMessage>[] = [];
      const consumer = await transport.consume([queue], { prefetch: 10 }, (d) => {
        seen.push(decodeTaskMessage(d.message));
        d.ack();
      });
      while (seen.length < 2) await new Promise((r) => setTimeout(r, 10));
      await consumer.cancel();
      expect(seen.map((m) => m.headers.group)).toEqual([result.id, result.id]);
    });
  });
}
