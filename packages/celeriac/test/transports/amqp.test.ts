import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AmqpTransport } from '../../src/transports/amqp/amqp-transport.ts';
import type { Delivery } from '../../src/transports/transport.ts';
import { silentLogger } from '../../src/util/logger.ts';
import { describeWith, SERVICES, uniqueName } from '../helpers/services.ts';
import { runTransportConformance, sleep, waitFor } from '../transport-conformance.ts';

function makeTransport(options: Record<string, unknown> = {}): AmqpTransport {
  return new AmqpTransport(SERVICES.rabbitmq.url, {
    logger: silentLogger,
    heartbeatMs: 10_000,
    connectionMaxRetries: 3,
    // Small delay buckets so redeliverAt is seen within the test (1.5 s = 1 s + 0.5 s, after bounces).
    options: { delayBucketsMs: [250, 1000], delayPrefix: 'celeriac-test.delay', ...options },
  });
}

const plain = (body: string, extra: Record<string, unknown> = {}) => ({
  body: Buffer.from(body),
  properties: { contentType: 'text/plain', contentEncoding: 'utf-8', headers: {}, ...extra },
});

await describeWith(['rabbitmq'], 'AMQP transport', () => {
  runTransportConformance('amqp', async () => makeTransport());

  describe('AMQP specifics and bad input', () => {
    const transport = makeTransport();
    const queues: string[] = [];
    const queue = async (args: Record<string, unknown> = {}) => {
      const name = uniqueName('amqp-edge');
      queues.push(name);
      await transport.declareQueue({ name, durable: false, arguments: args });
      return name;
    };
    beforeAll(() => transport.connect());
    afterAll(async () => {
      for (const q of queues) await transport.deleteQueue(q);
      await transport.close();
    });

    it('publishing to a missing exchange rejects with the broker reason; the next publish works', async () => {
      const q = await queue();
      const missing = uniqueName('no-such-exchange');
      await expect(
        transport.publish(plain('lost?'), { exchange: missing, routingKey: 'x' }),
      ).rejects.toMatchObject({
        code: 'AMQP_PUBLISH_UNCONFIRMED',
        message: expect.stringMatching(/NOT_FOUND - no exchange/),
      });
      await transport.publish(plain('fine'), { exchange: '', routingKey: q });
      expect(await transport.queueLength(q)).toBe(1);
    });

    it('headers AMQP cannot carry are refused before sending, naming the header', async () => {
      const q = await queue();
      await expect(
        transport.publish(plain('x', { headers: { bad: { fn: () => 1 } } }), { exchange: '', routingKey: q }),
      ).rejects.toMatchObject({
        code: 'AMQP_PUBLISH_INVALID',
        message: expect.stringMatching(/headers\.bad\.fn: a function cannot be sent/),
      });
      await expect(
        transport.publish(plain('x', { headers: { huge: 'y'.repeat(70_000) } }), {
          exchange: '',
          routingKey: q,
        }),
      ).rejects.toMatchObject({ code: 'AMQP_PUBLISH_INVALID' });
      // undefined inside arrays and NaN travel as null, as in JSON (a NaN double would kill the connection).
      await transport.publish(plain('ok', { headers: { list: [1, undefined], nan: Number.NaN } }), {
        exchange: '',
        routingKey: q,
      });
      const got: Delivery[] = [];
      const consumer = await transport.consume([q], { prefetch: 1 }, (d) => {
        got.push(d);
        d.ack();
      });
      await waitFor(() => got.length === 1, 5000);
      await consumer.cancel();
      expect(got[0]!.message.properties.headers.list).toEqual([1, null]);
      expect(got[0]!.message.properties.headers.nan).toBeNull();
    });

    it('consuming a missing queue rejects clearly and leaves the transport usable', async () => {
      const missing = uniqueName('no-such-queue');
      await expect(transport.consume([missing], { prefetch: 1 }, () => undefined)).rejects.toMatchObject({
        code: 'AMQP_CONSUME_FAILED',
        message: expect.stringMatching(/cannot consume from .*NOT_FOUND - no queue/),
      });
      await expect(transport.queueLength(missing)).rejects.toMatchObject({ code: 'AMQP_404' });
      const q = await queue();
      expect(await transport.queueLength(q)).toBe(0);
    });

    it('honours priorities on a queue with x-max-priority', async () => {
      const q = await queue({ 'x-max-priority': 10 });
      await transport.publish(plain('low', { priority: 1 }), { exchange: '', routingKey: q });
      await transport.publish(plain('high', { priority: 9 }), { exchange: '', routingKey: q });
      await transport.publish(plain('mid', { priority: 5 }), { exchange: '', routingKey: q });
      const got: string[] = [];
      const consumer = await transport.consume([q], { prefetch: 10 }, (d) => {
        got.push(d.message.body.toString());
        d.ack();
      });
      await waitFor(() => got.length === 3, 5000);
      await consumer.cancel();
      expect(got).toEqual(['high', 'mid', 'low']);
    });

    it('enforces per-message TTL (expiration)', async () => {
      const q = await queue();
      await transport.publish(plain('short', { expiration: '50' }), { exchange: '', routingKey: q });
      await transport.publish(plain('long', { expiration: '600000' }), { exchange: '', routingKey: q });
      await sleep(300);
      expect(await transport.queueLength(q)).toBe(1);
    });
  });
});
