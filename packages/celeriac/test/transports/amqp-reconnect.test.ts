import { afterEach, expect, it } from 'vitest';
import { AmqpTransport } from '../../src/transports/amqp/amqp-transport.ts';
import type { Delivery, TransportStatus } from '../../src/transports/transport.ts';
import { describeWith, SERVICES, uniqueName } from '../helpers/services.ts';
import { sleep, waitFor } from '../transport-conformance.ts';
import { captureLogger, closeConnectionsNamed, WARN } from './amqp-rabbitmqctl.ts';

const text = (d: Delivery) => d.message.body.toString();
const plain = (body: string) => ({
  body: Buffer.from(body),
  properties: { contentType: 'text/plain', contentEncoding: 'utf-8', headers: { kind: 'test', none: null } },
});

await describeWith(['rabbitmq'], 'AMQP transport: connection loss', () => {
  const cleanup: (() => Promise<void>)[] = [];
  afterEach(async () => {
    for (const step of cleanup.splice(0).reverse()) await step();
  });

  it('reconnects after the broker closes the connection: re-declares, resumes consumers, redelivers unacked', async () => {
    const connectionName = uniqueName('celeriac-reconnect');
    const { logger, lines } = captureLogger();
    const transport = new AmqpTransport(SERVICES.rabbitmq.url, {
      logger,
      heartbeatMs: 10_000,
      connectionMaxRetries: null,
      options: { connectionName, reconnectInitialDelayMs: 100 },
    });
    cleanup.push(() => transport.close());
    const statuses: TransportStatus['state'][] = [];
    transport.onStatus((s) => statuses.push(s.state));
    await transport.connect();

    const work = uniqueName('reconnect-work');
    const fanout = {
      name: uniqueName('reconnect-fan'),
      type: 'fanout' as const,
      durable: false,
      autoDelete: true,
    };
    // Exclusive: RabbitMQ deletes it with the connection, so only a re-declaration brings it back.
    const mine = uniqueName('reconnect-exclusive');
    await transport.declareQueue({ name: work, durable: false });
    await transport.declareQueue({
      name: mine,
      durable: false,
      exclusive: true,
      bindings: [{ exchange: fanout, routingKey: '' }],
    });
    cleanup.push(async () => {
      const cleaner = new AmqpTransport(SERVICES.rabbitmq.url, {
        logger,
        heartbeatMs: 0,
        connectionMaxRetries: 0,
        options: {},
      });
      await cleaner.deleteQueue(work);
      await cleaner.close();
    });

    for (const n of ['1', '2', '3']) await transport.publish(plain(n), { exchange: '', routingKey: work });
    const got: Delivery[] = [];
    await transport.consume([work], { prefetch: 10 }, (d) => got.push(d));
    const fanned: Delivery[] = [];
    await transport.consume([mine], { prefetch: 10, noAck: true }, (d) => fanned.push(d));
    await waitFor(() => got.length === 3, 5000);
    got[0]!.ack(); // settled before the loss: must not come back
    await sleep(100);

    expect(await closeConnectionsNamed(connectionName)).toBe(1);
    // A publish during the outage waits for the reconnection instead of failing.
    const duringOutage = transport.publish(plain('4'), { exchange: '', routingKey: work });
    await waitFor(
      () =>
        statuses.includes('connected') &&
        statuses.lastIndexOf('connected') > statuses.indexOf('disconnected'),
      15_000,
    );
    await duringOutage;

    // The broker requeued 2 and 3; the resumed consumer gets them (redelivered) and 4.
    await waitFor(() => got.length === 6, 10_000);
    const after = got.slice(3);
    expect(after.map(text).sort()).toEqual(['2', '3', '4']);
    expect(
      after
        .filter((d) => d.redelivered)
        .map(text)
        .sort(),
    ).toEqual(['2', '3']);
    // Settling deliveries of the dead channel does nothing (their tags mean nothing on the new channel).
    got[1]!.ack();
    got[2]!.reject(false);
    for (const d of after) d.ack();

    await transport.publish(plain('fan'), { exchange: fanout.name, routingKey: '' });
    await waitFor(() => fanned.length === 1, 5000);
    expect(text(fanned[0]!)).toBe('fan');

    await sleep(200);
    expect(await transport.queueLength(work)).toBe(0);
    expect(statuses).toEqual(expect.arrayContaining(['connected', 'disconnected', 'connected']));
    const warnings = lines.filter((l) => l.level >= WARN);
    expect(warnings).toHaveLength(1);
    expect(warnings[0]!.msg).toMatch(
      /lost connection to amqp:\/\/guest:\*\*@127\.0\.0\.1:5672\/\/: .*CONNECTION_FORCED/,
    );
  });

  it('a publish in flight when the connection drops rejects with a clear error (never a silent loss)', async () => {
    const connectionName = uniqueName('celeriac-inflight');
    const transport = new AmqpTransport(SERVICES.rabbitmq.url, {
      logger: captureLogger().logger,
      heartbeatMs: 10_000,
      connectionMaxRetries: null,
      options: { connectionName, reconnectInitialDelayMs: 100 },
    });
    cleanup.push(() => transport.close());
    const q = uniqueName('inflight');
    await transport.declareQueue({ name: q, durable: false, autoDelete: false });
    cleanup.push(async () => {
      await transport.deleteQueue(q);
    });
    const results: PromiseSettledResult<void>[] = [];
    let stop = false;
    const pump = (async () => {
      while (!stop) {
        const batch = await Promise.allSettled(
          Array.from({ length: 200 }, (_, i) =>
            transport.publish(plain(String(i)), { exchange: '', routingKey: q }),
          ),
        );
        results.push(...batch);
        await sleep(1); // let timers run even if every publish failed at once
      }
    })();
    await sleep(300);
    await closeConnectionsNamed(connectionName);
    await sleep(1500);
    stop = true;
    await pump;
    const failed = results.filter((r): r is PromiseRejectedResult => r.status === 'rejected');
    const confirmed = results.length - failed.length;
    console.log(`in-flight test: ${results.length} publishes, ${failed.length} rejected`);
    for (const f of failed) expect((f.reason as { code?: string }).code).toBe('AMQP_PUBLISH_UNCONFIRMED');
    if (failed.length > 0)
      expect(String((failed[0]!.reason as Error).message)).toMatch(/before the broker confirmed/);
    // Every confirmed message is in the queue (at-least-once: an unconfirmed one may be there too).
    expect(await transport.queueLength(q)).toBeGreaterThanOrEqual(confirmed);
  });
});
