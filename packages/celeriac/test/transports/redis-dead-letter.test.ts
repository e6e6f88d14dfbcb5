/**
 * Dead-lettering on Redis, looked at in Redis itself: the delivery leaves `unacked` / `unacked_index` and
 * lands in `<queue>.dead` as a kombu envelope carrying the reason, in one atomic step; if Redis refuses
 * the push, nothing moved and the delivery can still be requeued. (The behaviour every transport shares
 * is in transport-conformance.ts.)
 */
import { Redis } from 'ioredis';
import { afterAll, afterEach, expect, it } from 'vitest';
import type { RawMessage } from '../../src/protocol/types.ts';
import {
  DEAD_AT_HEADER,
  DEAD_QUEUE_HEADER,
  DEAD_REASON_HEADER,
} from '../../src/transports/dead-letter-marks.ts';
import { RedisTransport } from '../../src/transports/redis/redis-transport.ts';
import type { Delivery } from '../../src/transports/transport.ts';
import { silentLogger, type Logger } from '../../src/util/logger.ts';
import { capturingLogger } from '../backends/capturing-logger.ts';
import { describeWith, SERVICES, uniqueName } from '../helpers/services.ts';
import { sleep, waitFor } from '../transport-conformance.ts';

// Every key this file makes starts with its own prefix, so `unacked` is ours alone; deleted at the end.
const PREFIX = `${uniqueName('rdl')}:`;
const URL = `${SERVICES.redis.url}/0`;

function message(id: string, body: string, extra: Partial<RawMessage['properties']> = {}): RawMessage {
  return {
    body: Buffer.from(body),
    properties: {
      contentType: 'application/json',
      contentEncoding: 'utf-8',
      correlationId: id,
      headers: { id, task: 'tasks.any' },
      ...extra,
    },
  };
}

interface Envelope {
  body: string;
  headers: Record<string, unknown>;
  properties: Record<string, unknown> & { delivery_tag: string };
}

await describeWith(['redis'], 'redis transport: dead-lettering', () => {
  const raw = new Redis(URL);
  const opened: RedisTransport[] = [];
  const key = (name: string) => `${PREFIX}${name}`;

  async function transport(logger: Logger = silentLogger): Promise<RedisTransport> {
    const t = new RedisTransport(URL, {
      logger,
      heartbeatMs: 0,
      connectionMaxRetries: 3,
      options: { globalKeyprefix: PREFIX },
    });
    opened.push(t);
    await t.connect();
    return t;
  }

  async function take(t: RedisTransport, queue: string, count: number): Promise<Delivery[]> {
    const got: Delivery[] = [];
    const consumer = await t.consume([queue], { prefetch: 10 }, (d) => got.push(d));
    await waitFor(() => got.length >= count, 5000);
    await consumer.cancel();
    return got;
  }

  afterEach(async () => {
    for (const t of opened.splice(0)) await t.close();
  });

  afterAll(async () => {
    const keys = await raw.keys(`${PREFIX}*`);
    if (keys.length > 0) await raw.del(...keys);
    raw.disconnect();
  });

  it('moves the delivery out of unacked into <queue>.dead as a kombu envelope with the reason; it can be replayed', async () => {
    const t = await transport();
    const q = uniqueName('dl');
    await t.publish(message('m-1', '[[1], {}, {}]', { expiration: '60000' }), {
      exchange: '',
      routingKey: q,
    });
    const [delivery] = await take(t, q, 1);
    const [heldTag] = await raw.hkeys(key('unacked'));
    expect(heldTag).toBeDefined();

    await t.deadLetter(delivery!, 'unregistered task "tasks.any"');
    expect(await raw.hexists(key('unacked'), heldTag!)).toBe(0);
    expect(await raw.zscore(key('unacked_index'), heldTag!)).toBeNull();
    const dead = await raw.lrange(key(`${q}.dead`), 0, -1);
    expect(dead).toHaveLength(1);
    const envelope = JSON.parse(dead[0]!) as Envelope;
    expect(envelope.properties.delivery_tag).toBe(heldTag);
    expect(envelope.properties.expiration).toBeUndefined();
    expect(Buffer.from(envelope.body, 'base64').toString()).toBe('[[1], {}, {}]');
    expect(envelope.headers).toEqual({
      id: 'm-1',
      task: 'tasks.any',
      [DEAD_REASON_HEADER]: 'unregistered task "tasks.any"',
      [DEAD_QUEUE_HEADER]: q,
      [DEAD_AT_HEADER]: expect.stringMatching(/^\d{4}-\d\d-\d\dT/),
    });

    // Replay: move it back onto the queue as is; a consumer takes it like any message.
    await raw.lmove(key(`${q}.dead`), key(q), 'RIGHT', 'LEFT');
    const [again] = await take(t, q, 1);
    expect(again!.message.body.toString()).toBe('[[1], {}, {}]');
    expect(again!.message.properties.correlationId).toBe('m-1');
    expect(again!.message.properties.headers[DEAD_REASON_HEADER]).toBe('unregistered task "tasks.any"');
    again!.ack();
    await waitFor(async () => (await raw.hlen(key('unacked'))) === 0, 5000);
  });

  it('when Redis refuses the push, nothing moves: the delivery stays unacked and can still be requeued', async () => {
    const t = await transport();
    const q = uniqueName('dl-refused');
    await t.publish(message('m-2', '[[2], {}, {}]'), { exchange: '', routingKey: q });
    // A string where the dead list should be: LPUSH fails with WRONGTYPE inside the script.
    await raw.set(key(`${q}.dead`), 'in the way');
    const [delivery] = await take(t, q, 1);
    const [heldTag] = await raw.hkeys(key('unacked'));

    await expect(t.deadLetter(delivery!, 'invalid message: x')).rejects.toThrow(/WRONGTYPE/);
    expect(await raw.hexists(key('unacked'), heldTag!)).toBe(1);
    expect(await raw.zscore(key('unacked_index'), heldTag!)).not.toBeNull();
    expect(await raw.get(key(`${q}.dead`))).toBe('in the way');

    // What the worker does then (worker/dead-letter.ts): requeue it. It comes back, once.
    delivery!.reject(true);
    await waitFor(async () => (await raw.llen(key(q))) === 1, 5000);
    expect(await raw.hexists(key('unacked'), heldTag!)).toBe(0);
    const [back] = await take(t, q, 1);
    expect(back!.redelivered).toBe(true);
    back!.ack();
    await sleep(100);
    expect(await t.queueLength(q)).toBe(0);
  });

  it('refuses a delivery already settled, and pushes nothing', async () => {
    const t = await transport();
    const q = uniqueName('dl-settled');
    await t.publish(message('m-3', '[[3], {}, {}]'), { exchange: '', routingKey: q });
    const [delivery] = await take(t, q, 1);
    delivery!.ack();
    await expect(t.deadLetter(delivery!, 'late')).rejects.toThrow(/already settled/);
    await waitFor(async () => (await raw.hlen(key('unacked'))) === 0, 5000);
    expect(await raw.exists(key(`${q}.dead`))).toBe(0);
    const foreign: Delivery = { ...delivery!, ack: () => undefined, reject: () => undefined };
    await expect(t.deadLetter(foreign, 'why')).rejects.toThrow(TypeError);
  });

  it('an envelope whose body cannot be decoded goes to <queue>.dead with the reason in its headers', async () => {
    const { logger, lines } = capturingLogger();
    const t = await transport(logger);
    const q = uniqueName('dl-b64');
    await raw.lpush(
      key(q),
      JSON.stringify({
        body: '!!not base64!!',
        'content-type': 'application/json',
        headers: { id: 'bad-b64' },
        properties: { delivery_tag: 'bad-b64-tag', body_encoding: 'base64', delivery_info: {} },
      }),
    );
    await t.publish(message('m-4', '[[4], {}, {}]'), { exchange: '', routingKey: q });
    const [good] = await take(t, q, 1);
    expect(good!.message.properties.correlationId).toBe('m-4');
    good!.ack();
    await waitFor(async () => (await raw.llen(key(`${q}.dead`))) === 1, 5000);
    const envelope = JSON.parse((await raw.lindex(key(`${q}.dead`), 0))!) as Envelope;
    expect(envelope.body).toBe('!!not base64!!');
    expect(envelope.headers.id).toBe('bad-b64');
    expect(envelope.headers[DEAD_REASON_HEADER]).toMatch(/says base64 but its body is not base64/);
    expect(envelope.headers[DEAD_QUEUE_HEADER]).toBe(q);
    await waitFor(async () => (await raw.hlen(key('unacked'))) === 0, 5000);
    expect(lines().some((l) => l.level === 50 && String(l.msg).includes('moved to the dead list'))).toBe(
      true,
    );
  });
});
