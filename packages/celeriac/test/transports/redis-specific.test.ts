import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { Redis } from 'ioredis';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import type { RawMessage } from '../../src/protocol/types.ts';
import type { Delivery, TransportStatus } from '../../src/transports/transport.ts';
import {
  RedisTransportConfigError,
  resolveRedisTransportConfig,
} from '../../src/transports/redis/redis-transport-config.ts';
import { RedisTransport } from '../../src/transports/redis/redis-transport.ts';
import { silentLogger, type Logger } from '../../src/util/logger.ts';
import { capturingLogger } from '../backends/capturing-logger.ts';
import { describeWith, SERVICES, uniqueName } from '../helpers/services.ts';
import { sleep, waitFor } from '../transport-conformance.ts';

// Database 12 belongs to this file: it is flushed at the end.
const DB = 12;
const URL = `redis://${SERVICES.redis.host}:${SERVICES.redis.port}/${DB}`;
const SEP = '\x06\x16';
const PYTHON = '/usr/bin/python3';

function python(script: string): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(PYTHON, ['-c', script], { timeout: 20_000 }, (error, stdout, stderr) => {
      if (error) reject(new Error(`python failed: ${stderr || error.message}`));
      else resolve(stdout);
    });
  });
}

function message(body: unknown, extra: Partial<RawMessage['properties']> = {}): RawMessage {
  return {
    body: Buffer.from(JSON.stringify(body)),
    properties: { contentType: 'application/json', contentEncoding: 'utf-8', headers: {}, ...extra },
  };
}

await describeWith(['redis'], 'redis transport: kombu compatibility and Redis corners', () => {
  const raw = new Redis(URL);
  const opened: RedisTransport[] = [];
  const children: ChildProcess[] = [];

  function transport(options: Record<string, unknown> = {}, logger: Logger = silentLogger): RedisTransport {
    const t = new RedisTransport(URL, { logger, heartbeatMs: 0, connectionMaxRetries: 3, options });
    opened.push(t);
    return t;
  }

  async function consumeAll(
    t: RedisTransport,
    queue: string,
    count: number,
    ack = true,
  ): Promise<Delivery[]> {
    const got: Delivery[] = [];
    const consumer = await t.consume([queue], { prefetch: 100 }, (d) => {
      got.push(d);
      if (ack) d.ack();
    });
    try {
      await waitFor(() => got.length >= count, 5000);
    } finally {
      await consumer.cancel();
    }
    return got;
  }

  afterEach(async () => {
    for (const child of children.splice(0)) child.kill('SIGKILL');
    for (const t of opened.splice(0)) await t.close();
  });

  afterAll(async () => {
    await raw.flushdb();
    raw.disconnect();
  });

  describe('envelope', () => {
    it('consumes what Python kombu publishes, and Python consumes what Celeriac publishes', async () => {
      const fromPython = uniqueName('py2ts');
      const toPython = uniqueName('ts2py');
      await python(`
from kombu import Connection, Producer
with Connection('${URL}') as c:
    Producer(c.default_channel).publish(
        {'hello': 'wörld', 'n': [1, 2]}, routing_key='${fromPython}', exchange='', serializer='json',
        headers={'task': 'tasks.add', 'id': 'abc', 'retries': 0, 'eta': None, 'timelimit': [None, 30]},
        priority=0, correlation_id='abc', reply_to='oid-1', delivery_mode=2)
`);
      // Same shape on the wire: key order at both levels, types, base64 body.
      const t = transport();
      await t.publish(message({ x: 1 }, { correlationId: 'c', replyTo: 'r', deliveryMode: 2, priority: 0 }), {
        exchange: '',
        routingKey: fromPython,
      });
      const [ours, theirs] = (await raw.lrange(fromPython, 0, -1)).map((s) => JSON.parse(s));
      expect(Object.keys(ours)).toEqual(Object.keys(theirs));
      expect(Object.keys(ours.properties)).toEqual(Object.keys(theirs.properties));
      expect(ours.properties.delivery_info).toEqual({ exchange: '', routing_key: fromPython });
      expect(ours.properties.body_encoding).toBe('base64');
      expect(ours.properties.delivery_tag).toMatch(/^[0-9a-f-]{36}$/);

      const [fromPy, mine] = await consumeAll(t, fromPython, 2);
      expect(JSON.parse(fromPy!.message.body.toString())).toEqual({ hello: 'wörld', n: [1, 2] });
      expect(fromPy!.message.properties).toEqual({
        contentType: 'application/json',
        contentEncoding: 'utf-8',
        correlationId: 'abc',
        replyTo: 'oid-1',
        deliveryMode: 2,
        priority: 0,
        headers: { task: 'tasks.add', id: 'abc', retries: 0, eta: null, timelimit: [null, 30] },
      });
      expect([fromPy!.exchange, fromPy!.routingKey, fromPy!.redelivered]).toEqual(['', fromPython, false]);
      expect(JSON.parse(mine!.message.body.toString())).toEqual({ x: 1 });

      await t.publish(
        message([[2, 2], {}, { callbacks: null }], {
          correlationId: 'id-9',
          replyTo: 'oid-2',
          deliveryMode: 2,
          priority: 0,
          headers: { task: 'tasks.mul', id: 'id-9', argsrepr: '(2, 2)', unicode: '☃' },
        }),
        { exchange: '', routingKey: toPython },
      );
      const seen = JSON.parse(
        await python(`
import json
from kombu import Connection
with Connection('${URL}') as c:
    q = c.SimpleQueue('${toPython}')
    m = q.get(timeout=5)
    print(json.dumps({'payload': m.payload, 'headers': m.headers, 'ct': m.content_type, 'ce': m.content_encoding,
                      'props': {k: m.properties.get(k) for k in ('correlation_id', 'reply_to', 'delivery_mode', 'priority')},
                      'info': {k: m.delivery_info.get(k) for k in ('exchange', 'routing_key')}}))
    m.ack()
    q.close()
`),
      );
      expect(seen).toEqual({
        payload: [[2, 2], {}, { callbacks: null }],
        headers: { task: 'tasks.mul', id: 'id-9', argsrepr: '(2, 2)', unicode: '☃' },
        ct: 'application/json',
        ce: 'utf-8',
        props: { correlation_id: 'id-9', reply_to: 'oid-2', delivery_mode: 2, priority: 0 },
        info: { exchange: '', routing_key: toPython },
      });
      expect(await raw.hlen('unacked')).toBe(0);
    });

    it('moves items that are not kombu envelopes to <queue>.dead with an error log, and keeps consuming', async () => {
      const q = uniqueName('bad');
      const { logger, lines } = capturingLogger();
      const t = transport({}, logger);
      await raw.lpush(q, 'not json at all');
      await raw.lpush(q, JSON.stringify({ body: 'e30=', properties: {} }));
      await raw.lpush(
        q,
        JSON.stringify({
          body: '!!not base64!!',
          properties: { delivery_tag: 'bad-b64', body_encoding: 'base64' },
        }),
      );
      await t.publish(message('good'), { exchange: '', routingKey: q });
      const got = await consumeAll(t, q, 1);
      await sleep(200);
      expect(got.map((d) => d.message.body.toString())).toEqual(['"good"']);
      const dead = await raw.lrange(`${q}.dead`, 0, -1);
      expect(dead).toHaveLength(3);
      expect(dead).toContain('not json at all');
      expect(await raw.hexists('unacked', 'bad-b64')).toBe(0);
      expect(await raw.zscore('unacked_index', 'bad-b64')).toBeNull();
      const errors = lines().filter((l) => l.level === 50 && String(l.msg).includes('dead list'));
      expect(errors).toHaveLength(3);
      expect(errors.every((l) => l.deadList === `${q}.dead`)).toBe(true);
    });
  });

  describe('ack emulation', () => {
    it('keeps a delivery in unacked / unacked_index as kombu does until it is acked', async () => {
      const q = uniqueName('ack');
      const t = transport();
      await t.publish(message('held'), { exchange: '', routingKey: q });
      const envelope = JSON.parse((await raw.lindex(q, 0))!);
      const tag = envelope.properties.delivery_tag as string;
      const got: Delivery[] = [];
      const consumer = await t.consume([q], { prefetch: 1 }, (d) => got.push(d));
      await waitFor(() => got.length === 1, 5000);
      const entry = JSON.parse((await raw.hget('unacked', tag))!);
      expect(entry).toEqual([envelope, '', q]);
      expect(Math.abs(Number(await raw.zscore('unacked_index', tag)) - Date.now() / 1000)).toBeLessThan(5);
      got[0]!.ack();
      await waitFor(async () => (await raw.hexists('unacked', tag)) === 0, 2000);
      expect(await raw.zscore('unacked_index', tag)).toBeNull();
      await consumer.cancel();
    });

    it('reject(requeue) LPUSHes to the back of the queue, marked redelivered in headers and delivery_info', async () => {
      const q = uniqueName('requeue');
      const t = transport();
      await t.publish(message('first'), { exchange: '', routingKey: q });
      await t.publish(message('second'), { exchange: '', routingKey: q });
      const got: Delivery[] = [];
      const consumer = await t.consume([q], { prefetch: 1 }, (d) => {
        got.push(d);
        if (got.length === 1) d.reject(true);
      });
      await waitFor(() => got.length === 2, 5000);
      await consumer.cancel();
      expect(got.map((d) => d.message.body.toString())).toEqual(['"first"', '"second"']);
      const [back] = (await raw.lrange(q, 0, -1)).map((s) => JSON.parse(s));
      expect(back.headers.redelivered).toBe(true);
      expect(back.properties.delivery_info.redelivered).toBe(true);
      got[1]!.reject(false);
    });
  });

  it('priorities: one list per step, lower numbers first (the reverse of RabbitMQ)', async () => {
    const q = uniqueName('prio');
    const t = transport();
    for (const p of [9, 0, 5, 3, 7, 1])
      await t.publish(message(p, { priority: p }), { exchange: '', routingKey: q });
    await python(`
from kombu import Connection, Producer
with Connection('${URL}') as c:
    Producer(c.default_channel).publish(8, routing_key='${q}', exchange='', serializer='json', priority=8)
`);
    expect(await raw.llen(q)).toBe(2);
    expect(await raw.llen(`${q}${SEP}3`)).toBe(2);
    expect(await raw.llen(`${q}${SEP}6`)).toBe(2);
    expect(await raw.llen(`${q}${SEP}9`)).toBe(1);
    expect(await t.queueLength(q)).toBe(7);
    const order = (await consumeAll(t, q, 7)).map((d) => Number(d.message.body.toString()));
    expect(order).toEqual([0, 1, 5, 3, 7, 8, 9]);
  });

  it('global_keyprefix prefixes every key and channel, and Python with the same prefix agrees', async () => {
    const prefix = `${uniqueName('gkp')}:`;
    const q = uniqueName('pq');
    const fx = uniqueName('pfx');
    const t = transport({ globalKeyprefix: prefix });
    const direct = { name: uniqueName('pdx'), type: 'direct' as const };
    await t.declareQueue({ name: q, bindings: [{ exchange: direct, routingKey: 'rk' }] });
    expect(await raw.smembers(`${prefix}_kombu.binding.${direct.name}`)).toEqual([`rk${SEP}${SEP}${q}`]);
    await t.publish(message('via exchange'), { exchange: direct.name, routingKey: 'rk' });
    expect(await raw.llen(`${prefix}${q}`)).toBe(1);
    expect(await raw.exists(q)).toBe(0);

    const got: Delivery[] = [];
    const consumer = await t.consume([q], { prefetch: 1 }, (d) => got.push(d));
    await waitFor(() => got.length === 1, 5000);
    expect(await raw.hlen(`${prefix}unacked`)).toBe(1);
    expect(await raw.zcard(`${prefix}unacked_index`)).toBe(1);
    got[0]!.ack();
    await consumer.cancel();

    const fromPython = await python(`
from kombu import Connection, Producer
with Connection('${URL}', transport_options={'global_keyprefix': '${prefix}'}) as c:
    Producer(c.default_channel).publish('from python', routing_key='${q}', exchange='', serializer='json')
`);
    expect(fromPython).toBe('');
    const [py] = await consumeAll(t, q, 1);
    expect(py!.message.body.toString()).toBe('"from python"');

    const sub = new Redis(URL);
    const heard: string[] = [];
    sub.on('pmessage', (_p: string, channel: string) => heard.push(channel));
    await sub.psubscribe(`${prefix}/${DB}.${fx}*`);
    await t.declareExchange({ name: fx, type: 'fanout' });
    await t.publish(message('broadcast'), { exchange: fx, routingKey: '' });
    await waitFor(() => heard.length === 1, 2000);
    expect(heard).toEqual([`${prefix}/${DB}.${fx}`]);
    sub.disconnect();
  });

  describe('exchanges', () => {
    it('topic bindings: the same SET member as kombu writes, routed by AMQP rules', async () => {
      const tx = uniqueName('tx');
      const q = uniqueName('tq');
      await python(`
from kombu import Connection, Exchange, Queue
with Connection('${URL}') as c:
    Queue('${q}', Exchange('${tx}', type='topic'), routing_key='a.*.#')(c.default_channel).declare()
`);
      const t = transport();
      await t.declareQueue({
        name: q,
        bindings: [{ exchange: { name: tx, type: 'topic' }, routingKey: 'a.*.#' }],
      });
      const members = await raw.smembers(`_kombu.binding.${tx}`);
      expect(members).toHaveLength(1);
      expect(members[0]).toBe(`a.*.#${SEP}^a\\..*?[^\\.]\\..*?$${SEP}${q}`);
      for (const key of ['a.b', 'a.b.c.d', 'a', 'b.a.c'])
        await t.publish(message(key), { exchange: tx, routingKey: key });
      expect((await consumeAll(t, q, 2)).map((d) => JSON.parse(d.message.body.toString()))).toEqual([
        'a.b',
        'a.b.c.d',
      ]);
      await t.deleteQueue(q);
      expect(await raw.exists(`_kombu.binding.${tx}`)).toBe(0);
    });

    it('fanout: Python receives what Celeriac publishes to a forced-fanout event exchange, and Celeriac hears Python broadcasts', async () => {
      const ev = uniqueName('ev');
      const pidbox = uniqueName('box');
      const t = transport({ fanoutExchanges: [ev] });
      const listener = spawn(
        PYTHON,
        [
          '-c',
          `
import json, socket
from kombu import Connection, Exchange, Queue, Consumer
ex = Exchange('${ev}', type='fanout', durable=False, auto_delete=True)
q = Queue('${ev}.listener', ex, routing_key='#', durable=False, auto_delete=True)
got = []
with Connection('${URL}') as c:
    def on(body, m):
        got.append({'body': body, 'rk': m.delivery_info.get('routing_key'), 'headers': m.headers, 'ct': m.content_type})
    with Consumer(c, [q], callbacks=[on], no_ack=True):
        try:
            c.drain_events(timeout=0.2)
        except socket.timeout:
            pass
        print('ready', flush=True)
        while not got:
            c.drain_events(timeout=10)
print(json.dumps(got[0]), flush=True)
`,
        ],
        { stdio: ['ignore', 'pipe', 'inherit'] },
      );
      children.push(listener);
      let out = '';
      listener.stdout!.on('data', (chunk) => (out += chunk));
      await waitFor(() => out.includes('ready'), 15_000);
      // Declared topic, as on RabbitMQ: on Redis it becomes fanout (celery/events/event.py get_exchange).
      await t.declareExchange({ name: ev, type: 'topic' });
      await t.publish(
        message({ type: 'worker-heartbeat' }, { deliveryMode: 1, headers: { hostname: 'w1@h' } }),
        {
          exchange: ev,
          routingKey: 'worker.heartbeat',
        },
      );
      await waitFor(() => out.trim().split('\n').length >= 2, 10_000);
      expect(JSON.parse(out.trim().split('\n')[1]!)).toEqual({
        body: { type: 'worker-heartbeat' },
        rk: 'worker.heartbeat',
        headers: { hostname: 'w1@h' },
        ct: 'application/json',
      });

      const box = { name: pidbox, type: 'fanout' as const, durable: false };
      await t.declareQueue({
        name: `w1.${pidbox}`,
        autoDelete: true,
        durable: false,
        bindings: [{ exchange: box, routingKey: '' }],
      });
      const heard: Delivery[] = [];
      const consumer = await t.consume([`w1.${pidbox}`], { prefetch: 0, noAck: true }, (d) => heard.push(d));
      await python(`
from kombu import Connection, Exchange, Producer
with Connection('${URL}') as c:
    Producer(c.default_channel).publish({'method': 'ping', 'arguments': {}, 'destination': None},
        exchange=Exchange('${pidbox}', type='fanout', durable=False), declare=[Exchange('${pidbox}', type='fanout', durable=False)],
        serializer='json', headers={'clock': 1, 'expires': 0})
`);
      await waitFor(() => heard.length === 1, 5000);
      expect(JSON.parse(heard[0]!.message.body.toString())).toMatchObject({ method: 'ping' });
      expect(heard[0]!.exchange).toBe(pidbox);
      await consumer.cancel();
      // Auto-delete: its binding went with its last consumer.
      expect(await raw.exists(`_kombu.binding.${pidbox}`)).toBe(0);
    });
  });

  it('reconnects after its connections are killed: statuses, then consuming and publishing resume', async () => {
    const q = uniqueName('reconnect');
    const { logger, lines } = capturingLogger();
    const t = transport({}, logger);
    const statuses: TransportStatus['state'][] = [];
    t.onStatus((s) => statuses.push(s.state));
    await t.connect();
    const got: Delivery[] = [];
    await t.consume([q], { prefetch: 10 }, (d) => {
      got.push(d);
      d.ack();
    });
    const fx = { name: uniqueName('rfx'), type: 'fanout' as const };
    await t.declareQueue({
      name: `${fx.name}.q`,
      autoDelete: true,
      bindings: [{ exchange: fx, routingKey: '' }],
    });
    const heard: Delivery[] = [];
    await t.consume([`${fx.name}.q`], { prefetch: 0, noAck: true }, (d) => heard.push(d));
    await t.publish(message(1), { exchange: '', routingKey: q });
    await waitFor(() => got.length === 1, 5000);
    // Kill only this transport's own connections (by id: other processes use the same names).
    const internals = t as unknown as {
      client: Redis;
      consumers: Set<{ ctx: { blocking: Redis } }>;
      fanout: { connection(): Redis };
    };
    const mine = [internals.client, internals.fanout.connection(), [...internals.consumers][0]!.ctx.blocking];
    const ids = await Promise.all(mine.map(async (c) => String(await c.client('ID'))));
    for (const id of ids) await raw.client('KILL', 'ID', id);
    await sleep(300);
    await t.publish(message(2), { exchange: '', routingKey: q });
    await waitFor(() => got.length === 2, 10_000);
    // Subscriptions come back too (ioredis re-subscribes once its connection is up again).
    await waitFor(async () => {
      await t.publish(message('after'), { exchange: fx.name, routingKey: '' });
      return heard.length > 0;
    }, 10_000);
    expect(statuses).toContain('disconnected');
    expect(statuses.at(-1)).toBe('connected');
    // One warning for the outage, with its cause (the blocking connection's loss is a debug line).
    const lost = lines().filter((l) => l.level === 40 && String(l.msg).includes('connection lost'));
    expect(lost).toHaveLength(1);
    expect(lost[0]!.err).toBeDefined();
  });

  it('rejects unusable options with a message that says the fix', () => {
    expect(() => resolveRedisTransportConfig('redis://h:6379/zero')).toThrow(RedisTransportConfigError);
    expect(() => resolveRedisTransportConfig('redis://h/0', { prioritySteps: [3, 6] })).toThrow(
      /starting at 0/,
    );
    expect(() => resolveRedisTransportConfig('redis://h/0', { visibilityTimeout: 'soon' })).toThrow(
      /duration/,
    );
    expect(() =>
      resolveRedisTransportConfig('redis://h/0', { visibilityTimeout: 2, heldRefreshMs: 5000 }),
    ).toThrow(/shorter/);
    const config = resolveRedisTransportConfig('redis://:secret@h:6380/4', {
      visibility_timeout: 60,
      global_keyprefix: 'x:',
    });
    expect(config).toMatchObject({
      port: 6380,
      db: 4,
      visibilityTimeoutMs: 60_000,
      globalKeyprefix: 'x:',
      fanoutPrefix: '/4.',
    });
    expect(config.safeUrl).not.toContain('secret');
    expect(Object.isFrozen(config)).toBe(true);
  });
});
