import { randomUUID } from 'node:crypto';
import { deflateSync } from 'node:zlib';
import type { Options } from 'amqplib';

/** One message as amqplib publishes it. */
export interface RawPublish {
  body: Buffer;
  options: Options.Publish;
}

/** A malformed message and the kind of damage done to it. */
export interface BadMessage extends RawPublish {
  kind: string;
}

/** Header every bad message carries, so the test can find each one again in `<queue>.dead`. */
export const BAD_MARK = 'x-chaos-bad';

/** mulberry32: a seeded PRNG, so a failing corpus can be reproduced from its seed. */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Celery protocol v2 headers for `task`, as `as_task_v2` writes them. */
export function v2Headers(task: string, id: string, args: string): Record<string, unknown> {
  return {
    lang: 'py',
    task,
    id,
    shadow: null,
    eta: null,
    expires: null,
    group: null,
    group_index: null,
    retries: 0,
    timelimit: [null, null],
    root_id: id,
    parent_id: null,
    argsrepr: args,
    kwargsrepr: '{}',
    origin: 'chaos@fuzzer',
    ignore_result: true,
  };
}

/** A valid task message for `task` with `args`, ready for amqplib. */
export function validTask(task: string, args: unknown[], id = randomUUID()): RawPublish {
  const body = Buffer.from(
    JSON.stringify([args, {}, { callbacks: null, errbacks: null, chain: null, chord: null }]),
  );
  return {
    body,
    options: {
      contentType: 'application/json',
      contentEncoding: 'utf-8',
      correlationId: id,
      deliveryMode: 2,
      priority: 0,
      headers: v2Headers(task, id, JSON.stringify(args)),
    },
  };
}

type Mutator = (base: RawPublish, rand: () => number) => RawPublish;

function pick<T>(items: readonly T[], rand: () => number): T {
  return items[Math.floor(rand() * items.length)]!;
}

function withHeaders(base: RawPublish, change: (h: Record<string, unknown>) => void): RawPublish {
  const headers = { ...base.options.headers };
  change(headers);
  return { body: base.body, options: { ...base.options, headers } };
}

function junk(bytes: number, rand: () => number): Buffer {
  const out = Buffer.allocUnsafe(bytes);
  for (let i = 0; i < Math.min(bytes, 4096); i++) out[i] = Math.floor(rand() * 256);
  // Past the first 4 KiB the bytes only need to be "not JSON": fill fast.
  if (bytes > 4096) out.fill(0x7b, 4096);
  return out;
}

/** Ways to break a valid message; each must be refused by the worker, never run. */
const MUTATORS: Record<string, Mutator> = {
  'no task header': (m) =>
    withHeaders(m, (h) => {
      delete h.task;
    }),
  'no id (header nor correlation_id)': (m) => {
    const broken = withHeaders(m, (h) => {
      delete h.id;
    });
    delete broken.options.correlationId;
    return broken;
  },
  'task header of a wrong type': (m, rand) =>
    withHeaders(m, (h) => {
      h.task = pick<unknown>([42, true, ['chaos.record'], { name: 'chaos.record' }, null, 3.5], rand);
    }),
  'id header of a wrong type, no correlation_id': (m, rand) => {
    const broken = withHeaders(m, (h) => {
      h.id = pick<unknown>([42, false, ['x'], { id: 'x' }, null], rand);
    });
    delete broken.options.correlationId;
    return broken;
  },
  'eta header not a date': (m, rand) =>
    withHeaders(m, (h) => {
      h.eta = pick<unknown>(['tomorrow', '2026-13-45T99:99:99', 12345, 'x'.repeat(500)], rand);
    }),
  'huge task name (60 kB header; amqplib caps a header table at 64 KiB)': (m) =>
    withHeaders(m, (h) => {
      h.task = `chaos.${'x'.repeat(60_000)}`;
    }),
  'unregistered task': (m, rand) =>
    withHeaders(m, (h) => {
      h.task = pick(['chaos.nobody', 'tasks.add', 'chaos.record.v2', ''], rand) || 'chaos.';
    }),
  'body not JSON (random bytes)': (m, rand) => ({ ...m, body: junk(1 + Math.floor(rand() * 2000), rand) }),
  'body truncated': (m, rand) => ({
    ...m,
    body: m.body.subarray(0, Math.floor(rand() * (m.body.length - 1))),
  }),
  'body empty': (m) => ({ ...m, body: Buffer.alloc(0) }),
  'body a JSON object, not [args, kwargs, embed]': (m, rand) => ({
    ...m,
    body: Buffer.from(JSON.stringify(pick<unknown>([{ args: [1] }, 'text', 7, null, true], rand))),
  }),
  'args not an array': (m, rand) => ({
    ...m,
    body: Buffer.from(JSON.stringify([pick<unknown>([{ a: 1 }, 'x', 5, true], rand), {}, {}])),
  }),
  'kwargs not an object': (m, rand) => ({
    ...m,
    body: Buffer.from(JSON.stringify([[1], pick<unknown>([[1], 'x', 5, true], rand), {}])),
  }),
  'embed not an object': (m, rand) => ({
    ...m,
    body: Buffer.from(JSON.stringify([[1], {}, pick<unknown>([[1], 'x', 5, true], rand)])),
  }),
  'deeply nested body (100,000 levels)': (m) => ({
    ...m,
    body: Buffer.from(`${'{"a":'.repeat(100_000)}1${'}'.repeat(100_000)}`),
  }),
  'content type not JSON': (m, rand) => ({
    ...m,
    options: {
      ...m.options,
      contentType: pick(
        ['application/x-python-serialize', 'application/x-yaml', 'text/plain', 'application/data'],
        rand,
      ),
    },
  }),
  'content encoding not utf-8': (m, rand) => ({
    ...m,
    options: { ...m.options, contentEncoding: pick(['utf-16', 'latin-1', 'binary', 'base64'], rand) },
  }),
  'unknown compression': (m, rand) =>
    withHeaders(m, (h) => {
      h.compression = pick(['application/x-lzma', 'application/x-zstd', 'snappy'], rand);
    }),
  'compression header, body not compressed': (m) => {
    const broken = withHeaders(m, (h) => {
      h.compression = 'application/x-gzip';
    });
    return { ...broken, body: Buffer.from('this was never deflated') };
  },
  'compressed body that is not JSON': (m) => {
    const broken = withHeaders(m, (h) => {
      h.compression = 'application/x-gzip';
    });
    return { ...broken, body: deflateSync(Buffer.from('<xml>not json</xml>')) };
  },
};

export const MUTATION_KINDS = Object.keys(MUTATORS);

/**
 * `count` malformed messages for `task`: every kind in turn (so each appears about equally), details
 * drawn from `seed`, plus well-formed messages of the `largeSizes` given (in bytes).
 */
export function malformedCorpus(
  task: string,
  count: number,
  seed: number,
  largeSizes: readonly number[],
): BadMessage[] {
  const rand = prng(seed);
  const out: BadMessage[] = [];
  for (const [i, bytes] of largeSizes.entries()) {
    // A well-formed body of exactly `bytes`: only its size is wrong (over the worker's taskMessageMaxBytes).
    const filler = Buffer.alloc(bytes - '[[""],{},{}]'.length, 0x78);
    const body = Buffer.concat([Buffer.from('[["'), filler, Buffer.from('"],{},{}]')]);
    out.push({
      kind: 'body over taskMessageMaxBytes, up to the broker limit',
      ...validTask(task, [-1 - i]),
      body,
    });
  }
  for (let i = out.length; i < count; i++) {
    const kind = MUTATION_KINDS[i % MUTATION_KINDS.length]!;
    const mutated = MUTATORS[kind]!(validTask(task, [-1000 - i]), rand);
    out.push({ kind, ...mutated });
  }
  for (const [i, m] of out.entries()) {
    m.options = { ...m.options, headers: { ...m.options.headers, [BAD_MARK]: String(i) } };
  }
  return out;
}
