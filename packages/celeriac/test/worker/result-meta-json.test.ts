import { describe, expect, it } from 'vitest';
import { ResultEncodeError } from '../../src/backends/errors.ts';
import { encodeResultJson, encodeResultMeta } from '../../src/backends/result-json.ts';
import type { ResultMeta } from '../../src/result/meta.ts';

/** The meta as one strict JSON.stringify of the whole object writes it (the field-by-field encoder's reference). */
function wholeMeta(meta: ResultMeta): string {
  const { status, result, traceback, children, date_done, task_id, ...rest } = meta;
  return encodeResultJson(task_id, {
    status,
    result: result ?? null,
    traceback: traceback ?? null,
    children: children ?? [],
    date_done: date_done ?? null,
    task_id,
    ...rest,
  });
}

const base = {
  status: 'SUCCESS',
  traceback: null,
  children: [],
  date_done: '2026-11-24T03:00:00.123000',
  task_id: 'c1a2b3c4-0000-4000-8000-000000000001',
} as const;

describe('encodeResultMeta', () => {
  const cases: Array<[string, Record<string, unknown>]> = [
    ['a null result', { result: null }],
    ['an undefined result', { result: undefined }],
    ['a string with quotes', { result: 'say "hi"\n' }],
    ['NaN', { result: Number.NaN }],
    ['true', { result: true }],
    [
      'an object with a Map, a Set and a bigint',
      { result: { m: new Map([['a', 1]]), s: new Set([1, 2]), b: 10n } },
    ],
    ['a Date', { result: new Date(0) }],
    ['an array', { result: [1, 'two', { three: 3 }] }],
    [
      'children and a traceback',
      { result: 1, status: 'FAILURE', traceback: 'Traceback…', children: [[['id', null], null]] },
    ],
    [
      'group, parent and extended fields',
      {
        result: 2,
        group_id: 'g',
        parent_id: 'p',
        name: 't',
        args: [1],
        kwargs: { k: 1n },
        worker: 'w@h',
        retries: 0,
        queue: 'celery',
      },
    ],
    ['an undefined extra field', { result: 3, group_id: undefined }],
  ];
  for (const [what, fields] of cases) {
    it(`writes ${what} exactly as one JSON.stringify would`, () => {
      const meta = { ...base, ...fields } as unknown as ResultMeta;
      const text = encodeResultMeta(meta);
      expect(text).toBe(wholeMeta(meta));
      expect(text.startsWith(`{"status":"${meta.status}"`)).toBe(true);
    });
  }

  it('refuses a function in the result or in an extra field, naming the key', () => {
    const inResult = { ...base, result: { f: () => 1 } } as unknown as ResultMeta;
    expect(() => encodeResultMeta(inResult)).toThrow(ResultEncodeError);
    expect(() => encodeResultMeta(inResult)).toThrow(/key "f"/);
    const inKwargs = { ...base, result: 1, kwargs: { cb: () => 1 } } as unknown as ResultMeta;
    expect(() => encodeResultMeta(inKwargs)).toThrow(/key "cb"/);
    const topLevel = { ...base, result: () => 1 } as unknown as ResultMeta;
    expect(() => encodeResultMeta(topLevel)).toThrow(/key "result"/);
  });
});
