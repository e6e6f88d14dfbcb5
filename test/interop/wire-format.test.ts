/**
 * The message a Celeriac client publishes, read back by Python's kombu with basic_get (no worker
 * in between) and compared with what Celery itself emits for the same call
 * (celery/app/amqp.py `as_task_v2`, kombu/messaging.py `Producer.publish`): every §1.2 header
 * and §1.1 property present, with the Python type py-amqp decodes it to.
 */
import { afterAll, beforeAll, expect, it } from 'vitest';
import { Celeriac } from 'celeriac';
import type { ApplyOptions } from 'celeriac';
import { deleteQueues } from './cleanup.ts';
import { AMQP_URL, describeInterop, PythonClient, quietly, uniqueName } from './harness.ts';

interface Typed {
  type: string;
  value: unknown;
}

interface RawView {
  properties: Record<string, Typed>;
  headers: Record<string, Typed>;
  header_types: Record<string, string>;
  timelimit_item_types: string[];
  body: [unknown[], Record<string, unknown>, Record<string, unknown>];
  exchange: string;
  routing_key: string;
  eta_parsed: { aware: boolean; epoch: number } | null;
  expires_parsed: { aware: boolean; epoch: number } | null;
}

const EMPTY_EMBED = { callbacks: null, errbacks: null, chain: null, chord: null };

await describeInterop('wire format of a Celeriac task message, as Python reads it', () => {
  const queue = uniqueName('interop-d');
  let app: Celeriac;
  let py: PythonClient;

  beforeAll(async () => {
    app = new Celeriac({ broker: AMQP_URL, defaultQueue: queue });
    py = await PythonClient.start({ queue, backend: 'rpc://' });
  });

  afterAll(async () => {
    await quietly(() => app?.close());
    await quietly(() => py?.close());
    await quietly(() => deleteQueues([queue]));
  });

  async function publishAndRead(
    args: unknown[],
    kwargs: Record<string, unknown>,
    options: ApplyOptions = {},
  ) {
    const result = await app.sendTask('tasks.add', args, kwargs, options);
    const raw = await py.call<RawView | null>('wire_probe.get_raw', queue);
    expect(raw, 'the message we published is on the queue').not.toBeNull();
    return { id: result.id, raw: raw! };
  }

  it('carries every header of as_task_v2 with the types Celery uses, and the AMQP properties', async () => {
    const { id, raw } = await publishAndRead([2, 2], {});
    const reference = await py.call<{ headers: Record<string, string> }>(
      'wire_probe.reference_message',
      'tasks.add',
      [2, 2],
      {},
    );
    // Same keys, same Python types (int is not float, None is not missing) as Celery's own message.
    expect(raw.header_types).toEqual(reference.headers);
    expect(raw.timelimit_item_types).toEqual(['NoneType', 'NoneType']);
    const h = Object.fromEntries(Object.entries(raw.headers).map(([k, v]) => [k, v.value]));
    expect(h).toMatchObject({
      lang: 'py',
      task: 'tasks.add',
      id,
      root_id: id,
      parent_id: null,
      shadow: null,
      eta: null,
      expires: null,
      group: null,
      group_index: null,
      retries: 0,
      timelimit: [null, null],
      argsrepr: '(2, 2)',
      kwargsrepr: '{}',
      ignore_result: false,
    });
    expect(h.origin).toMatch(/^gen\d+@.+/);

    // §1.1: what Producer.publish sets for a JSON task.
    const p = raw.properties;
    expect(p.content_type).toEqual({ type: 'str', value: 'application/json' });
    expect(p.content_encoding).toEqual({ type: 'str', value: 'utf-8' });
    expect(p.correlation_id).toEqual({ type: 'str', value: id });
    expect(p.reply_to).toEqual({ type: 'str', value: app.oid });
    expect(p.delivery_mode).toEqual({ type: 'int', value: 2 });
    expect(p.priority).toEqual({ type: 'int', value: 0 });
    expect(p.expiration, 'no per-message TTL without expires').toBeUndefined();

    expect(raw.exchange).toBe('');
    expect(raw.routing_key).toBe(queue);
    expect(raw.body).toEqual([[2, 2], {}, EMPTY_EMBED]);
  });

  it('writes eta, expires, priority, kwargs and custom headers the way Python parses them', async () => {
    const before = Date.now();
    const { raw } = await publishAndRead(
      [],
      { x: 2, y: 3 },
      {
        countdown: 10,
        expires: 60,
        priority: 5,
        headers: { 'x-trace': 'abc-123' },
      },
    );
    const after = Date.now();
    expect(raw.header_types.eta).toBe('str');
    expect(raw.header_types.expires).toBe('str');
    expect(raw.eta_parsed?.aware, 'eta carries a UTC offset').toBe(true);
    expect(raw.eta_parsed!.epoch * 1000).toBeGreaterThanOrEqual(before + 10_000 - 1);
    expect(raw.eta_parsed!.epoch * 1000).toBeLessThanOrEqual(after + 10_000 + 1);
    expect(raw.expires_parsed?.aware).toBe(true);
    expect(raw.expires_parsed!.epoch * 1000).toBeGreaterThanOrEqual(before + 60_000 - 1);
    expect(raw.expires_parsed!.epoch * 1000).toBeLessThanOrEqual(after + 60_000 + 1);
    expect(raw.properties.priority).toEqual({ type: 'int', value: 5 });
    // Celery also sends expires as a per-message TTL (celery/app/base.py send_task); if we do, it is ms as a string.
    if (raw.properties.expiration) {
      expect(raw.properties.expiration.type).toBe('str');
      expect(Number(raw.properties.expiration.value)).toBeGreaterThan(55_000);
      expect(Number(raw.properties.expiration.value)).toBeLessThanOrEqual(60_000);
    }
    expect(raw.headers['x-trace']).toEqual({ type: 'str', value: 'abc-123' });
    expect(raw.headers.kwargsrepr).toEqual({ type: 'str', value: "{'x': 2, 'y': 3}" });
    expect(raw.body).toEqual([[], { x: 2, y: 3 }, EMPTY_EMBED]);
  });

  it('encodes unicode, nesting, null, booleans and floats so Python decodes the same values and reprs', async () => {
    const args = ['héllo ✓', { a: [1, 2], b: null }, null, true, 1.5, -7];
    const kwargs = { name: 'zoë', flags: [false, true] };
    const { raw } = await publishAndRead(args, kwargs);
    expect(raw.body).toEqual([args, kwargs, EMPTY_EMBED]);
    const reprs = await py.call<{ argsrepr: string; kwargsrepr: string }>('wire_probe.reprs', args, kwargs);
    expect(raw.headers.argsrepr?.value).toBe(reprs.argsrepr);
    expect(raw.headers.kwargsrepr?.value).toBe(reprs.kwargsrepr);
  });
});
