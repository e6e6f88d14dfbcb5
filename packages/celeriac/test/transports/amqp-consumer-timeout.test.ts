import { afterAll, beforeAll, expect, it } from 'vitest';
import { AmqpTransport } from '../../src/transports/amqp/amqp-transport.ts';
import type { Delivery } from '../../src/transports/transport.ts';
import { startPrivateRabbitMQ, type PrivateRabbitMQ } from '../helpers/private-rabbitmq.ts';
import { describeWith, uniqueName } from '../helpers/services.ts';
import { waitFor } from '../transport-conformance.ts';
import { captureLogger, WARN, type LogLine } from './amqp-rabbitmqctl.ts';

/**
 * celery#6760 on a real RabbitMQ: a delivery held unacked past `consumer_timeout` gets its channel closed
 * (406 PRECONDITION_FAILED), and parking it with redeliverAt avoids that. RabbitMQ 3.10 has no per-queue
 * timeout and checks it on the channel tick (`channel_tick_interval`, 60 s), so this file runs its own
 * node with both shortened: on the shared broker they would close the channels of other tests.
 */
const CONSUMER_TIMEOUT_MS = 2000;
const PARK_FOR_MS = 5000;

interface Side {
  queue: string;
  transport: AmqpTransport;
  lines: LogLine[];
}

function side(url: string, prefix: string): Side {
  const { logger, lines } = captureLogger();
  const transport = new AmqpTransport(url, {
    logger,
    heartbeatMs: 10_000,
    connectionMaxRetries: 3,
    options: {
      delayBucketsMs: [1000, 2000],
      delayPrefix: 'celeriac-test.delay',
      reconnectInitialDelayMs: 100,
    },
  });
  return { queue: uniqueName(prefix), transport, lines };
}

// describeWith: the shared broker being reachable is what says RabbitMQ is installed on this machine.
await describeWith(['rabbitmq'], 'AMQP transport: consumer_timeout (celery#6760)', () => {
  let rabbit: PrivateRabbitMQ | undefined;
  let holder: Side;
  let parker: Side;
  const held: Delivery[] = [];
  const parked: { at: number; d: Delivery }[] = [];
  let dueAt = 0;

  beforeAll(async () => {
    rabbit = await startPrivateRabbitMQ({
      rabbitEnv: { consumer_timeout: CONSUMER_TIMEOUT_MS, channel_tick_interval: 250 },
    });
    holder = side(rabbit.url, 'ct-hold');
    parker = side(rabbit.url, 'ct-park');
    for (const { transport, queue } of [holder, parker]) {
      await transport.connect();
      await transport.declareQueue({ name: queue, durable: false });
    }
    await holder.transport.consume([holder.queue], { prefetch: 10 }, (d) => held.push(d));
    await parker.transport.consume([parker.queue], { prefetch: 10 }, (d) => {
      parked.push({ at: Date.now(), d });
      // What a worker does with a far ETA: park it until due, re-parking if it comes back early.
      if (Date.now() < dueAt) void parker.transport.redeliverAt(d, dueAt);
      else d.ack();
    });
  }, 90_000);

  afterAll(async () => {
    // Queues go with the node; the transports are closed first so they do not try to reconnect.
    for (const s of [holder, parker]) await s?.transport.close();
    await rabbit?.stop();
  });

  it('(the bug) holding a delivery unacked past consumer_timeout gets the channel closed; it is redelivered', async () => {
    await holder.transport.publish(message('held'), { exchange: '', routingKey: holder.queue });
    await waitFor(() => held.length === 1, 5000);
    const receivedAt = Date.now();
    // Never acked: RabbitMQ closes the channel, the consumer resumes on a new one, the message comes back.
    await waitFor(() => held.length === 2, CONSUMER_TIMEOUT_MS + 8000);
    expect(Date.now() - receivedAt).toBeGreaterThanOrEqual(CONSUMER_TIMEOUT_MS - 100);
    expect(held[1]!.redelivered).toBe(true);
    const warnings = holder.lines.filter((l) => l.level >= WARN);
    expect(warnings.map((l) => l.msg).join('\n')).toMatch(
      /consumer channel .* closed: .*PRECONDITION.FAILED.*(timed out|timeout)/i,
    );
    held[1]!.ack();
  });

  it('(the fix) parking with redeliverAt keeps the channel alive and the message returns after its time', async () => {
    dueAt = Date.now() + PARK_FOR_MS;
    await parker.transport.publish(message('parked'), { exchange: '', routingKey: parker.queue });
    await waitFor(() => parked.some((g) => g.at >= dueAt), PARK_FOR_MS + 8000);
    const final = parked.filter((g) => g.at >= dueAt);
    expect(final).toHaveLength(1);
    expect(final[0]!.d.message.body.toString()).toBe('parked');
    expect(final[0]!.d.message.properties.headers).toEqual({ eta: 'later', none: null });
    // It bounced through the delay queues (5 s = 2 s + 2 s + 1 s), each hold far below consumer_timeout...
    expect(parked.length).toBeGreaterThanOrEqual(3);
    expect(parked.every((g) => !g.d.redelivered)).toBe(true);
    // ...and the consumer channel, which has the 2 s timeout, never closed.
    expect(parker.lines.filter((l) => l.level >= WARN)).toEqual([]);
  });
});

function message(body: string) {
  return {
    body: Buffer.from(body),
    properties: {
      contentType: 'text/plain',
      contentEncoding: 'utf-8',
      deliveryMode: 2 as const,
      headers: { eta: 'later', none: null },
    },
  };
}
