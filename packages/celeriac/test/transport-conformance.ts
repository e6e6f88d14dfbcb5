import { afterAll, afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { MessageProperties, RawMessage } from '../src/protocol/types.ts';
import {
  DEAD_AT_HEADER,
  DEAD_QUEUE_HEADER,
  DEAD_REASON_HEADER,
  deadQueueName,
} from '../src/transports/dead-letter-marks.ts';
import type { Consumer, Delivery, ExchangeSpec, Transport } from '../src/transports/transport.ts';
import { uniqueName } from './helpers/services.ts';

export interface ConformanceOptions {
  /** How long to wait for a delivery that should come. (Default: 5 s) */
  deliveryTimeoutMs?: number;
  /** How long to watch for a delivery that must not come. (Default: 300 ms) */
  quietMs?: number;
  /** The delay used for `redeliverAt`; the transport must be built to park that long (AMQP: small buckets). (Default: 1500 ms) */
  redeliverDelayMs?: number;
}

/**
 * The transport contract (src/transports/transport.ts) as one suite every transport runs in one line:
 *
 *   runTransportConformance('memory', async () => new MemoryTransport('memory://conformance'));
 *
 * `makeTransport` returns a new, unconnected transport each call; transports made in one run must share a
 * broker (a test closes one and checks what another sees). Every name is unique and every queue is deleted.
 */
export function runTransportConformance(
  label: string,
  makeTransport: () => Promise<Transport>,
  options: ConformanceOptions = {},
): void {
  const deliveryTimeoutMs = options.deliveryTimeoutMs ?? 5000;
  const quietMs = options.quietMs ?? 300;
  const redeliverDelayMs = options.redeliverDelayMs ?? 1500;

  describe(`transport conformance: ${label}`, () => {
    let transport: Transport;
    const opened: Transport[] = [];
    const queues = new Set<string>();

    async function open(): Promise<Transport> {
      const t = await makeTransport();
      opened.push(t);
      await t.connect();
      return t;
    }

    async function queue(
      prefix = 'conf',
      extra: Partial<Parameters<Transport['declareQueue']>[0]> = {},
    ): Promise<string> {
      const name = uniqueName(`${prefix}`);
      queues.add(name);
      await transport.declareQueue({ name, durable: false, ...extra });
      return name;
    }

    function exchange(type: ExchangeSpec['type']): ExchangeSpec {
      // auto-delete: the exchange goes when its last queue is deleted (the contract has no deleteExchange).
      return { name: uniqueName(`conf-${type}`), type, durable: false, autoDelete: true };
    }

    beforeEach(async () => {
      transport = await open();
    });

    afterEach(async () => {
      const cleaner = await open();
      for (const name of queues) await cleaner.deleteQueue(name);
      queues.clear();
      for (const t of opened.splice(0)) await t.close();
    });

    afterAll(async () => {
      for (const t of opened.splice(0)) await t.close();
    });

    it('declares queues and round-trips body, properties and headers (null, nested, arrays, unicode)', async () => {
      const q = await queue();
      const properties: MessageProperties = {
        contentType: 'application/json',
        contentEncoding: 'utf-8',
        correlationId: 'c0ffee',
        replyTo: 'reply-oid',
        deliveryMode: 2,
        priority: 3,
        expiration: '600000',
        headers: {
          lang: 'py',
          task: 'tasks.add',
          eta: null,
          group_index: null,
          retries: 0,
          big: 2 ** 40,
          ratio: 0.25,
          negative: -7,
          ignore_result: false,
          timelimit: [null, 30],
          nested: { a: { b: [1, 'two', null, true] }, empty: {} },
          unicode: 'héllo ☃ 日本',
        },
      };
      const body = Buffer.from(JSON.stringify([[2, 2], {}, { callbacks: null }]));
      await transport.publish({ body, properties }, { exchange: '', routingKey: q });
      const [delivery] = await collect(transport, [q], 1, { prefetch: 10 });
      expect(delivery!.message.body.equals(body)).toBe(true);
      expect(delivery!.message.properties).toEqual(properties);
      expect(delivery!.routingKey).toBe(q);
      expect(delivery!.exchange).toBe('');
      expect(delivery!.redelivered).toBe(false);
      delivery!.ack();
    });

    it('delivers in FIFO order', async () => {
      const q = await queue();
      for (let i = 0; i < 50; i++) await transport.publish(msg(i), { exchange: '', routingKey: q });
      const deliveries = await collect(transport, [q], 50, { prefetch: 100 }, true);
      expect(deliveries.map(bodyOf)).toEqual([...Array(50).keys()].map(String));
    });

    it('pipelines publishes: many in flight at once all confirm', async () => {
      const q = await queue();
      await Promise.all(
        [...Array(200).keys()].map((i) => transport.publish(msg(i), { exchange: '', routingKey: q })),
      );
      expect(await transport.queueLength(q)).toBe(200);
    });

    it('bounds unacked deliveries by prefetch, and setPrefetch widens the window', async () => {
      const q = await queue();
      for (let i = 0; i < 10; i++) await transport.publish(msg(i), { exchange: '', routingKey: q });
      const got: Delivery[] = [];
      const consumer = await transport.consume([q], { prefetch: 3 }, (d) => got.push(d));
      await waitFor(() => got.length === 3, deliveryTimeoutMs);
      await sleep(quietMs);
      expect(got).toHaveLength(3);
      await consumer.setPrefetch(5);
      await waitFor(() => got.length === 5, deliveryTimeoutMs);
      await sleep(quietMs);
      expect(got).toHaveLength(5);
      got[0]!.ack();
      await waitFor(() => got.length === 6, deliveryTimeoutMs);
      for (const d of got) d.ack();
      await waitFor(() => got.length === 10, deliveryTimeoutMs);
      for (const d of got) d.ack();
      expect(got.map(bodyOf)).toEqual([...Array(10).keys()].map(String));
      await consumer.cancel();
    });

    it('prefetch bounds deliveries across every queue of one consumer', async () => {
      const q1 = await queue();
      const q2 = await queue();
      for (let i = 0; i < 4; i++) {
        await transport.publish(msg(`a${i}`), { exchange: '', routingKey: q1 });
        await transport.publish(msg(`b${i}`), { exchange: '', routingKey: q2 });
      }
      const got: Delivery[] = [];
      const consumer = await transport.consume([q1, q2], { prefetch: 3 }, (d) => got.push(d));
      await waitFor(() => got.length === 3, deliveryTimeoutMs);
      await sleep(quietMs);
      expect(got).toHaveLength(3);
      await consumer.cancel();
      for (const d of got) d.ack();
    });

    it('acked deliveries are gone; close() gives unacked ones back', async () => {
      const q = await queue();
      for (let i = 0; i < 5; i++) await transport.publish(msg(i), { exchange: '', routingKey: q });
      const got = await collect(transport, [q], 5, { prefetch: 10 });
      // Out of order, with a gap: 0 and 3 acked, 1, 2 and 4 held.
      got[3]!.ack();
      got[0]!.ack();
      await sleep(50);
      await transport.close();
      const other = await open();
      await waitFor(async () => (await other.queueLength(q)) === 3, deliveryTimeoutMs);
      const again = await collect(other, [q], 3, { prefetch: 10 }, true);
      expect(again.map(bodyOf).sort()).toEqual(['1', '2', '4']);
      expect(again.every((d) => d.redelivered)).toBe(true);
    });

    it('reject(true) redelivers with redelivered: true; reject(false) drops', async () => {
      const q = await queue();
      await transport.publish(msg('again'), { exchange: '', routingKey: q });
      await transport.publish(msg('drop'), { exchange: '', routingKey: q });
      const got: Delivery[] = [];
      const consumer = await transport.consume([q], { prefetch: 10 }, (d) => {
        got.push(d);
        if (bodyOf(d) === 'drop') d.reject(false);
        else if (!d.redelivered) d.reject(true);
        else d.ack();
      });
      await waitFor(() => got.length === 3, deliveryTimeoutMs);
      await sleep(quietMs);
      expect(got.map((d) => [bodyOf(d), d.redelivered])).toEqual(
        expect.arrayContaining([
          ['again', false],
          ['drop', false],
          ['again', true],
        ]),
      );
      expect(got).toHaveLength(3);
      await consumer.cancel();
      expect(await transport.queueLength(q)).toBe(0);
    });

    it('settling a delivery twice is harmless', async () => {
      const q = await queue();
      await transport.publish(msg('x'), { exchange: '', routingKey: q });
      await transport.publish(msg('y'), { exchange: '', routingKey: q });
      const [first, second] = await collect(transport, [q], 2, { prefetch: 10 });
      first!.ack();
      first!.ack();
      first!.reject(true);
      second!.reject(false);
      second!.ack();
      await sleep(quietMs);
      await transport.close();
      const other = await open();
      expect(await other.queueLength(q)).toBe(0);
    });

    it('noAck consumers receive everything without acking, and nothing comes back', async () => {
      const q = await queue();
      for (let i = 0; i < 5; i++) await transport.publish(msg(i), { exchange: '', routingKey: q });
      const got = await collect(transport, [q], 5, { prefetch: 0, noAck: true }, true);
      expect(got.map(bodyOf)).toEqual(['0', '1', '2', '3', '4']);
      await transport.close();
      const other = await open();
      expect(await other.queueLength(q)).toBe(0);
    });

    it('a fanout exchange reaches every bound queue', async () => {
      const fanout = exchange('fanout');
      await transport.declareExchange(fanout);
      const q1 = await queue('conf-fan', { bindings: [{ exchange: fanout, routingKey: '' }] });
      const q2 = await queue('conf-fan', { bindings: [{ exchange: fanout, routingKey: 'ignored' }] });
      await transport.publish(msg('hello'), { exchange: fanout.name, routingKey: 'anything' });
      const [a] = await collect(transport, [q1], 1, { prefetch: 1 }, true);
      const [b] = await collect(transport, [q2], 1, { prefetch: 1 }, true);
      expect([bodyOf(a!), bodyOf(b!)]).toEqual(['hello', 'hello']);
      expect(a!.exchange).toBe(fanout.name);
      expect(a!.routingKey).toBe('anything');
    });

    it('a topic exchange routes by pattern: * is one word, # is zero or more', async () => {
      const topic = exchange('topic');
      const star = await queue('conf-star', { bindings: [{ exchange: topic, routingKey: 'task.*' }] });
      const hash = await queue('conf-hash', { bindings: [{ exchange: topic, routingKey: 'task.#' }] });
      for (const key of ['task.sent', 'task.a.b', 'task', 'worker.online']) {
        await transport.publish(msg(key), { exchange: topic.name, routingKey: key });
      }
      await waitFor(async () => (await transport.queueLength(hash)) === 3, deliveryTimeoutMs);
      expect(await transport.queueLength(star)).toBe(1);
      const starred = await collect(transport, [star], 1, { prefetch: 10 }, true);
      const hashed = await collect(transport, [hash], 3, { prefetch: 10 }, true);
      expect(starred.map(bodyOf)).toEqual(['task.sent']);
      expect(hashed.map(bodyOf)).toEqual(['task.sent', 'task.a.b', 'task']);
    });

    it('a direct exchange routes by exact key, and the default exchange by queue name', async () => {
      const direct = exchange('direct');
      const red = await queue('conf-red', { bindings: [{ exchange: direct, routingKey: 'red' }] });
      const blue = await queue('conf-blue', { bindings: [{ exchange: direct, routingKey: 'blue' }] });
      await transport.publish(msg('r'), { exchange: direct.name, routingKey: 'red' });
      await transport.publish(msg('b'), { exchange: direct.name, routingKey: 'blue' });
      await transport.publish(msg('nobody'), { exchange: direct.name, routingKey: 'green' });
      await transport.publish(msg('b2'), { exchange: '', routingKey: blue });
      await waitFor(async () => (await transport.queueLength(blue)) === 2, deliveryTimeoutMs);
      expect(await transport.queueLength(red)).toBe(1);
      expect((await collect(transport, [blue], 2, { prefetch: 10 }, true)).map(bodyOf)).toEqual(['b', 'b2']);
    });

    it('purge removes ready messages and returns the count; queueLength counts ready ones', async () => {
      const q = await queue();
      expect(await transport.queueLength(q)).toBe(0);
      for (let i = 0; i < 4; i++) await transport.publish(msg(i), { exchange: '', routingKey: q });
      expect(await transport.queueLength(q)).toBe(4);
      expect(await transport.purge(q)).toBe(4);
      expect(await transport.queueLength(q)).toBe(0);
      expect(await transport.purge(q)).toBe(0);
    });

    it('queueLength does not count unacked deliveries', async () => {
      const q = await queue();
      for (let i = 0; i < 3; i++) await transport.publish(msg(i), { exchange: '', routingKey: q });
      const got = await collect(transport, [q], 1, { prefetch: 1 });
      expect(await transport.queueLength(q)).toBe(2);
      got[0]!.ack();
    });

    it('a cancelled consumer gets nothing more, and may still settle what it has', async () => {
      const q = await queue();
      await transport.publish(msg('before'), { exchange: '', routingKey: q });
      const got: Delivery[] = [];
      const consumer = await transport.consume([q], { prefetch: 10 }, (d) => got.push(d));
      await waitFor(() => got.length === 1, deliveryTimeoutMs);
      await consumer.cancel();
      await transport.publish(msg('after'), { exchange: '', routingKey: q });
      await sleep(quietMs);
      expect(got.map(bodyOf)).toEqual(['before']);
      got[0]!.ack();
      await sleep(50);
      await transport.close();
      const other = await open();
      expect(await other.queueLength(q)).toBe(1);
      expect((await collect(other, [q], 1, { prefetch: 1 }, true)).map(bodyOf)).toEqual(['after']);
    });

    it('two consumers on one queue share its messages', async () => {
      const q = await queue();
      const a: Delivery[] = [];
      const b: Delivery[] = [];
      const ca = await transport.consume([q], { prefetch: 1 }, (d) => a.push(d));
      const cb = await transport.consume([q], { prefetch: 1 }, (d) => b.push(d));
      await transport.publish(msg(1), { exchange: '', routingKey: q });
      await transport.publish(msg(2), { exchange: '', routingKey: q });
      await waitFor(() => a.length === 1 && b.length === 1, deliveryTimeoutMs);
      for (const d of [...a, ...b]) d.ack();
      await ca.cancel();
      await cb.cancel();
    });

    it('publish after close rejects, and close is idempotent', async () => {
      const q = await queue();
      await transport.close();
      await transport.close();
      await expect(transport.publish(msg('late'), { exchange: '', routingKey: q })).rejects.toThrow(
        /closed/i,
      );
      const other = await open();
      expect(await other.queueLength(q)).toBe(0);
    });

    it('redeliverAt parks a delivery and gives the same message back at or after its time', async (ctx) => {
      if (!transport.capabilities.delayedRedelivery || !transport.redeliverAt) {
        ctx.skip();
        return;
      }
      const q = await queue();
      const properties: MessageProperties = {
        contentType: 'application/json',
        contentEncoding: 'utf-8',
        correlationId: 'eta-1',
        deliveryMode: 2,
        priority: 0,
        headers: { id: 'eta-1', eta: '2030-01-01T00:00:00+00:00', nothing: null, nested: { x: [1] } },
      };
      await transport.publish({ body: Buffer.from('parked'), properties }, { exchange: '', routingKey: q });
      const dueAt = Date.now() + redeliverDelayMs;
      const seen: { at: number; delivery: Delivery }[] = [];
      const consumer = await transport.consume([q], { prefetch: 10 }, (d) => {
        seen.push({ at: Date.now(), delivery: d });
        // What a worker does: not due yet, park it (again).
        if (Date.now() < dueAt) void transport.redeliverAt!(d, dueAt);
        else d.ack();
      });
      await waitFor(() => seen.some((s) => s.at >= dueAt), redeliverDelayMs + deliveryTimeoutMs);
      await sleep(quietMs);
      const final = seen.filter((s) => s.at >= dueAt);
      expect(final).toHaveLength(1);
      expect(final[0]!.delivery.message.body.toString()).toBe('parked');
      expect(final[0]!.delivery.message.properties).toEqual(properties);
      // While parked, the queue holds nothing and nothing is unacked: the original was acked.
      await consumer.cancel();
      expect(await transport.queueLength(q)).toBe(0);
    });

    it('redeliverAt gives a message routed through an exchange back to its own queue only', async (ctx) => {
      if (!transport.capabilities.delayedRedelivery || !transport.redeliverAt) {
        ctx.skip();
        return;
      }
      const topic = exchange('topic');
      const parked = await queue('conf-park', { bindings: [{ exchange: topic, routingKey: 'eta.#' }] });
      const bystander = await queue('conf-by', { bindings: [{ exchange: topic, routingKey: 'eta.#' }] });
      await transport.publish(msg('routed'), { exchange: topic.name, routingKey: 'eta.later' });
      const [delivery] = await collect(transport, [parked], 1, { prefetch: 1 });
      await transport.redeliverAt(delivery!, Date.now() + 200);
      const [back] = await collect(transport, [parked], 1, { prefetch: 1 }, true);
      expect(bodyOf(back!)).toBe('routed');
      await sleep(quietMs);
      expect(await transport.queueLength(parked)).toBe(0);
      expect(await transport.queueLength(bystander)).toBe(1);
    });

    it('deadLetter moves a delivery to <queue>.dead, whole, with reason, origin queue and time, and settles it', async (ctx) => {
      if (!transport.deadLetter) {
        ctx.skip();
        return;
      }
      const q = await queue('conf-dead');
      const dead = deadQueueName(q);
      queues.add(dead);
      const properties: MessageProperties = {
        contentType: 'application/json',
        contentEncoding: 'utf-8',
        correlationId: 'dead-1',
        deliveryMode: 2,
        priority: 0,
        headers: { id: 'dead-1', task: 'tasks.nobody', nothing: null, nested: { x: [1, 'two'] } },
      };
      const body = Buffer.from('{"not": [valid json');
      await transport.publish({ body, properties }, { exchange: '', routingKey: q });
      await transport.publish(msg('fine'), { exchange: '', routingKey: q });
      const [bad, fine] = await collect(transport, [q], 2, { prefetch: 10 });
      const before = Date.now();
      await transport.deadLetter(bad!, 'invalid message: body is not valid JSON');
      const after = Date.now();
      await waitFor(async () => (await transport.queueLength(dead)) === 1, deliveryTimeoutMs);
      // Dead-lettering settles it: a second settle does nothing, and close() gives back only the other one.
      bad!.reject(true);
      await sleep(quietMs);
      await transport.close();
      const other = await open();
      await waitFor(async () => (await other.queueLength(q)) === 1, deliveryTimeoutMs);
      await sleep(quietMs);
      expect(await other.queueLength(q)).toBe(1);
      expect(bodyOf(fine!)).toBe('fine');
      const [kept] = await collect(other, [dead], 1, { prefetch: 1 }, true);
      expect(kept!.message.body.equals(body)).toBe(true);
      const { headers: keptHeaders, ...keptProperties } = kept!.message.properties;
      const { headers: sentHeaders, ...sentProperties } = properties;
      expect(keptProperties).toEqual(sentProperties);
      expect(keptHeaders).toEqual({
        ...sentHeaders,
        [DEAD_REASON_HEADER]: 'invalid message: body is not valid JSON',
        [DEAD_QUEUE_HEADER]: q,
        [DEAD_AT_HEADER]: expect.any(String),
      });
      const at = Date.parse(String(keptHeaders[DEAD_AT_HEADER]));
      expect(at).toBeGreaterThanOrEqual(before - 1000);
      expect(at).toBeLessThanOrEqual(after + 1000);
      expect(await other.queueLength(dead)).toBe(0);
    });
  });
}

function msg(content: string | number): RawMessage {
  return {
    body: Buffer.from(String(content)),
    properties: { contentType: 'text/plain', contentEncoding: 'utf-8', headers: {} },
  };
}

function bodyOf(delivery: Delivery): string {
  return delivery.message.body.toString();
}

/** Consumes until `count` deliveries arrived; acks them if asked, then cancels the consumer. */
async function collect(
  transport: Transport,
  queues: string[],
  count: number,
  options: { prefetch: number; noAck?: boolean },
  ack = false,
): Promise<Delivery[]> {
  const got: Delivery[] = [];
  let consumer: Consumer | undefined;
  try {
    consumer = await transport.consume(queues, options, (d) => {
      got.push(d);
      if (ack) d.ack();
    });
    await waitFor(() => got.length >= count, 5000);
  } finally {
    await consumer?.cancel();
  }
  return got;
}

export async function waitFor(predicate: () => boolean | Promise<boolean>, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await predicate())) {
    if (Date.now() > deadline)
      throw new Error(`condition not met within ${timeoutMs} ms: ${predicate.toString()}`);
    await sleep(10);
  }
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
