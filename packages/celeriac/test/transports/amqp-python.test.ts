import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { afterAll, expect, it } from 'vitest';
import { AmqpTransport } from '../../src/transports/amqp/amqp-transport.ts';
import type { Delivery } from '../../src/transports/transport.ts';
import { silentLogger } from '../../src/util/logger.ts';
import { describeWith, SERVICES, uniqueName } from '../helpers/services.ts';
import { waitFor } from '../transport-conformance.ts';

const run = promisify(execFile);

/** Runs Python with kombu 5.2 (what Celery 5.2 uses) against the same broker; prints JSON. */
async function python(script: string, ...args: string[]): Promise<unknown> {
  const { stdout } = await run('/usr/bin/python3', ['-c', script, SERVICES.rabbitmq.url, ...args], {
    timeout: 20_000,
  });
  return JSON.parse(stdout);
}

await describeWith(['rabbitmq'], 'AMQP transport and Python kombu on one broker', () => {
  const transport = new AmqpTransport(SERVICES.rabbitmq.url, {
    logger: silentLogger,
    heartbeatMs: 10_000,
    connectionMaxRetries: 3,
    options: {},
  });
  const queues: string[] = [];
  afterAll(async () => {
    for (const q of queues) await transport.deleteQueue(q);
    await transport.close();
  });

  it('Python reads our null headers as None and nested values intact; we read Python headers the same', async () => {
    const q = uniqueName('py-headers');
    queues.push(q);
    await transport.declareQueue({ name: q, durable: true });
    const headers = {
      eta: null,
      retries: 0,
      timelimit: [null, 30],
      nested: { a: [1, null, 'x'], ok: true },
      ratio: 0.5,
      big: 2 ** 40,
      text: 'héllo',
    };
    await transport.publish(
      {
        body: Buffer.from('{}'),
        properties: { contentType: 'application/json', contentEncoding: 'utf-8', headers },
      },
      { exchange: '', routingKey: q },
    );
    const seen = await python(
      `
import json, sys
from kombu import Connection
with Connection(sys.argv[1]) as conn:
    ch = conn.default_channel
    m = ch.basic_get(sys.argv[2], no_ack=True)
    h = m.headers
    print(json.dumps({"eta_is_none": h["eta"] is None, "timelimit_first_is_none": h["timelimit"][0] is None,
                      "inner_none": h["nested"]["a"][1] is None, "headers": h}))
    ch.basic_publish(ch.prepare_message('{}', content_type='application/json', content_encoding='utf-8',
                     headers={"eta": None, "list": [1, None], "nested": {"n": None}, "f": 1.25}), exchange='', routing_key=sys.argv[2])
`,
      q,
    );
    expect(seen).toMatchObject({
      eta_is_none: true,
      timelimit_first_is_none: true,
      inner_none: true,
      headers,
    });

    const got: Delivery[] = [];
    const consumer = await transport.consume([q], { prefetch: 1 }, (d) => {
      got.push(d);
      d.ack();
    });
    await waitFor(() => got.length === 1, 5000);
    await consumer.cancel();
    expect(got[0]!.message.properties.headers).toEqual({
      eta: null,
      list: [1, null],
      nested: { n: null },
      f: 1.25,
    });
  });

  it('declares the celery-style exchange and queue exactly as kombu does (no 406 either way)', async () => {
    const name = uniqueName('py-declare');
    const priorityName = `${name}-prio`;
    queues.push(name, priorityName);
    // Python first: Queue(name, Exchange(name, 'direct'), routing_key=name), and one with max_priority.
    await python(
      `
import json, sys
from kombu import Connection, Exchange, Queue
name = sys.argv[2]
with Connection(sys.argv[1]) as conn:
    Queue(name, Exchange(name, 'direct'), routing_key=name)(conn.default_channel).declare()
    Queue(name + '-prio', Exchange(name, 'direct'), routing_key=name + '-prio', max_priority=10)(conn.default_channel).declare()
print(json.dumps(True))
`,
      name,
    );
    const exchange = { name, type: 'direct' as const, durable: true, autoDelete: false };
    await transport.declareExchange(exchange);
    await transport.declareQueue({ name, durable: true, bindings: [{ exchange, routingKey: name }] });
    await transport.declareQueue({
      name: priorityName,
      durable: true,
      arguments: { 'x-max-priority': 10 },
      bindings: [{ exchange, routingKey: priorityName }],
    });
    // And a mismatch is reported clearly, not swallowed.
    await expect(transport.declareQueue({ name, durable: false })).rejects.toMatchObject({
      code: 'AMQP_406',
      message: expect.stringMatching(/declaring queue .* failed: .*PRECONDITION.FAILED.*durable/i),
    });
    // Python again, after us: still equivalent.
    await python(
      `
import json, sys
from kombu import Connection, Exchange, Queue
name = sys.argv[2]
with Connection(sys.argv[1]) as conn:
    Queue(name, Exchange(name, 'direct'), routing_key=name)(conn.default_channel).declare()
    Queue(name + '-prio', Exchange(name, 'direct'), routing_key=name + '-prio', max_priority=10)(conn.default_channel).declare()
print(json.dumps(True))
`,
      name,
    );
    // The transport is still usable after the 406 (it closed only the operations channel).
    expect(await transport.queueLength(name)).toBe(0);
    // The contract has no deleteExchange; kombu cleans up the durable exchange this test made.
    await python(
      `
import json, sys
from kombu import Connection
with Connection(sys.argv[1]) as conn:
    conn.default_channel.exchange_delete(sys.argv[2])
print(json.dumps(True))
`,
      name,
    );
  });
});
