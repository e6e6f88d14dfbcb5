import { describe, expect, it } from 'vitest';
import { decodeTaskMessage, encodeTaskMessage } from '../src/protocol/codec.ts';
import { buildTaskMessage } from '../src/app/message-builder.ts';
import { argsRepr, saferepr } from '../src/protocol/repr.ts';
import { DecodeError, InvalidMessageError } from '../src/protocol/errors.ts';

const base = {
  name: 'tasks.add',
  kwargs: {},
  options: {},
  taskOptions: undefined,
  origin: 'gen1@h',
  replyTo: 'oid',
  priority: 0,
};

describe('protocol v2 messages', () => {
  it('emits every header of as_task_v2 with Celery defaults', () => {
    const { id, message } = buildTaskMessage({ ...base, args: [2, 2] });
    const h = message.properties.headers;
    expect(Object.keys(h).sort()).toEqual(
      [
        'argsrepr',
        'eta',
        'expires',
        'group',
        'group_index',
        'id',
        'ignore_result',
        'kwargsrepr',
        'lang',
        'origin',
        'parent_id',
        'retries',
        'root_id',
        'shadow',
        'task',
        'timelimit',
      ].sort(),
    );
    expect(h).toMatchObject({
      task: 'tasks.add',
      id,
      root_id: id,
      retries: 0,
      timelimit: [null, null],
      argsrepr: '(2, 2)',
      kwargsrepr: '{}',
    });
    expect(message.properties.correlationId).toBe(id);
    expect(message.properties.deliveryMode).toBe(2);
    expect(JSON.parse(message.body.toString())).toEqual([
      [2, 2],
      {},
      { callbacks: null, errbacks: null, chain: null, chord: null },
    ]);
  });

  it('turns a countdown into an ISO eta with +00:00', () => {
    const now = Date.UTC(2022, 9, 1, 12, 0, 0, 123);
    const { message } = buildTaskMessage({ ...base, args: [], options: { countdown: 10 }, now });
    expect(message.properties.headers.eta).toBe('2022-10-01T12:00:10.123000+00:00');
  });

  it('round-trips through decode', () => {
    const { message } = buildTaskMessage({ ...base, args: [1, 'a'], kwargs: { z: true } });
    const decoded = decodeTaskMessage(message);
    expect(decoded.version).toBe(2);
    expect(decoded.args).toEqual([1, 'a']);
    expect(decoded.kwargs).toEqual({ z: true });
  });

  it('accepts protocol v1 messages', () => {
    const body = { task: 'tasks.add', id: 'abc', args: [1, 2], kwargs: {}, retries: 1, eta: null };
    const decoded = decodeTaskMessage({
      body: Buffer.from(JSON.stringify(body)),
      properties: { contentType: 'application/json', contentEncoding: 'utf-8', headers: {} },
    });
    expect(decoded).toMatchObject({
      version: 1,
      args: [1, 2],
      headers: { task: 'tasks.add', id: 'abc', retries: 1, root_id: 'abc' },
    });
  });

  it('revives kombu 5.3 __type__ values', () => {
    const { message } = buildTaskMessage({ ...base, args: [] });
    const raw = {
      ...message,
      body: Buffer.from(
        '[[{"__type__":"datetime","__value__":"2022-10-01T12:00:00"},{"__type__":"uuid","__value__":{"hex":"0123456789abcdef0123456789abcdef","version":4}}],{},{}]',
      ),
    };
    expect(decodeTaskMessage(raw).args).toEqual([
      '2022-10-01T12:00:00',
      '01234567-89ab-cdef-0123-456789abcdef',
    ]);
  });

  it('refuses non-JSON content, pickle and malformed shapes with clear errors', () => {
    const props = {
      contentType: 'application/json',
      contentEncoding: 'utf-8',
      headers: { task: 't', id: 'x' },
    };
    expect(() => decodeTaskMessage({ body: Buffer.from('not json'), properties: props })).toThrow(
      DecodeError,
    );
    expect(() =>
      decodeTaskMessage({
        body: Buffer.from('x'),
        properties: { ...props, contentType: 'application/x-python-serialize' },
      }),
    ).toThrow(/not accepted/);
    expect(() => decodeTaskMessage({ body: Buffer.from('[{"a":1},{},{}]'), properties: props })).toThrow(
      /args must be an array/,
    );
    expect(() => decodeTaskMessage({ body: Buffer.from('[[],[],{}]'), properties: props })).toThrow(
      /kwargs must be an object/,
    );
    expect(() =>
      decodeTaskMessage({ body: Buffer.from('[[],{},{}]'), properties: { ...props, headers: {} } }),
    ).toThrow(InvalidMessageError);
    expect(() =>
      decodeTaskMessage({
        body: Buffer.from('[[],{},{}]'),
        properties: { ...props, headers: { task: 't', id: 'x', eta: 'soon' } },
      }),
    ).toThrow(/eta/);
  });

  it('reprs arguments like Python', () => {
    expect(argsRepr([2, 2])).toBe('(2, 2)');
    expect(argsRepr([1])).toBe('(1,)');
    expect(saferepr({ a: [true, null, 'x'] })).toBe("{'a': [True, None, 'x']}");
    expect(saferepr('x'.repeat(2000)).length).toBe(1024);
  });

  it('encodes a raw message with properties', () => {
    const raw = encodeTaskMessage({
      headers: buildTaskMessage({ ...base, args: [] }).message.properties.headers as never,
      args: [],
      kwargs: {},
      expirationMs: -5,
    });
    expect(raw.properties.expiration).toBe('0');
  });
});
