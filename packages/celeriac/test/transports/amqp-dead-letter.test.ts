import amqplib, { type ChannelModel } from 'amqplib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Celeriac } from '../../src/app/celeriac.ts';
import { encodeTaskMessage } from '../../src/protocol/codec.ts';
import {
  DEAD_AT_HEADER,
  DEAD_QUEUE_HEADER,
  DEAD_REASON_HEADER,
  deadLetterCopy,
} from '../../src/transports/amqp/amqp-dead-letter.ts';
import { describeWith, SERVICES, uniqueName } from '../helpers/services.ts';
import { captureLogger, startWorker, stopAll, waitFor } from '../worker/helpers.ts';

describe('deadLetterCopy', () => {
  const message = encodeTaskMessage({
    headers: { task: 't.x', id: 'id-1', retries: 0 } as never,
    args: [1],
    kwargs: {},
    expirationMs: 5_000,
  });

  it('keeps body and headers, adds the reason, queue and time, drops the TTL', () => {
    const copy = deadLetterCopy(message, 'q', 'bad: reason', new Date('2026-01-02T03:04:05Z'));
    expect(copy.body).toBe(message.body);
    expect(copy.properties.expiration).toBeUndefined();
    expect(copy.properties.headers).toMatchObject({
      task: 't.x',
      id: 'id-1',
      [DEAD_REASON_HEADER]: 'bad: reason',
      [DEAD_QUEUE_HEADER]: 'q',
      [DEAD_AT_HEADER]: '2026-01-02T03:04:05.000Z',
    });
  });

  it('cuts a huge reason, and keeps the body when the headers cannot be written back', () => {
    const copy = deadLetterCopy(message, 'q', 'x'.repeat(5_000));
    expect(String(copy.properties.headers[DEAD_REASON_HEADER]).length).toBeLessThanOrEqual(1_001);
    const odd = { ...message, properties: { ...message.properties, headers: { f: () => 1 } } };
    const fallback = deadLetterCopy(odd as never, 'q', 'why');
    expect(fallback.body).toBe(message.body);
    expect(fallback.properties.headers[DEAD_REASON_HEADER]).toBe('why');
    expect(String(fallback.properties.headers['x-celeriac-dead-headers-error'])).toContain('headers.f');
  });
});

await describeWith(['rabbitmq'], 'worker dead-letters bad messages on RabbitMQ', () => {
  const queue = uniqueName('dead-letter');
  const { logger, lines } = captureLogger();
  let app: Celeriac;
  let connection: ChannelModel;

  beforeAll(async () => {
    app = new Celeriac({ broker: SERVICES.rabbitmq.url, defaultQueue: queue, logger });
    app.task('dl.ok', () => 'ok');
    await startWorker(app, { remoteControl: false, heartbeat: false });
    connection = await amqplib.connect(SERVICES.rabbitmq.url);
  });

  afterAll(async () => {
    await stopAll();
    const channel = await connection.createChannel();
    await channel.deleteQueue(queue);
    await channel.deleteQueue(`${queue}.dead`);
    await connection.close();
    await app.close();
  });

  it('moves an undecodable message and an unregistered task to <queue>.dead with the reason, and runs the rest', async () => {
    const channel = await connection.createConfirmChannel();
    const headers = { task: 'dl.ok', id: 'not-json-1', marker: 'kept' };
    channel.sendToQueue(queue, Buffer.from('{nope'), {
      contentType: 'application/json',
      contentEncoding: 'utf-8',
      headers,
      expiration: '600000',
    });
    channel.sendToQueue(queue, Buffer.from('[[],{},{}]'), {
      contentType: 'application/json',
      contentEncoding: 'utf-8',
      headers: { task: 'dl.nobody', id: 'unknown-1' },
    });
    await channel.waitForConfirms();
    // A channel of its own per look: a passive declare of a queue not declared yet closes the channel.
    const deadDepth = async () => {
      const probe = await connection.createChannel();
      probe.on('error', () => undefined);
      const depth = await probe.checkQueue(`${queue}.dead`).then(
        (q) => q.messageCount,
        () => 0,
      );
      await probe.close().catch(() => undefined);
      return depth;
    };
    await waitFor(async () => (await deadDepth()) === 2, 10_000, 'two dead');
    const first = await channel.get(`${queue}.dead`, { noAck: true });
    const second = await channel.get(`${queue}.dead`, { noAck: true });
    if (first === false || second === false) throw new Error('dead messages vanished');
    const byId = new Map([first, second].map((m) => [m.properties.headers?.id as string, m]));
    const notJson = byId.get('not-json-1')!;
    expect(notJson.content.toString()).toBe('{nope');
    expect(notJson.properties.headers?.marker).toBe('kept');
    expect(notJson.properties.expiration).toBeUndefined();
    expect(notJson.properties.headers?.[DEAD_REASON_HEADER]).toMatch(
      /^invalid message: body is not valid JSON/,
    );
    expect(notJson.properties.headers?.[DEAD_QUEUE_HEADER]).toBe(queue);
    expect(byId.get('unknown-1')!.properties.headers?.[DEAD_REASON_HEADER]).toBe(
      'unregistered task "dl.nobody"',
    );
    expect((await channel.checkQueue(queue)).messageCount).toBe(0);
    expect(lines.some((l) => l.level === 50 && l.msg.includes('rejected invalid message not-json-1'))).toBe(
      true,
    );
    await channel.close();
  });
});
