/**
 * The chaos suite's malformed-messages scenario (test/chaos/malformed-messages.chaos.ts), small and on
 * Redis: 50 malformed messages from the same seeded corpus (broken headers, bodies, encodings,
 * compression, pickle/YAML content types, bodies over taskMessageMaxBytes) shuffled among 100 valid
 * tasks. The worker must stay up, set every bad one aside in `<queue>.dead` with the reason in its
 * headers, leave nothing in `unacked`, and run every valid task exactly once.
 */
import { Redis } from 'ioredis';
import { afterAll, beforeAll, expect, it } from 'vitest';
import {
  BAD_MARK,
  malformedCorpus,
  prng,
  validTask,
  type RawPublish,
} from '../../../../test/chaos/malformed-corpus.ts';
import { Celeriac } from '../../src/app/celeriac.ts';
import type { RawMessage } from '../../src/protocol/types.ts';
import { DEAD_QUEUE_HEADER, DEAD_REASON_HEADER } from '../../src/transports/dead-letter-marks.ts';
import { RedisTransport } from '../../src/transports/redis/redis-transport.ts';
import { silentLogger } from '../../src/util/logger.ts';
import type { Worker } from '../../src/worker/worker.ts';
import { describeWith, SERVICES, uniqueName } from '../helpers/services.ts';
import { captureLogger, startWorker, stopAll, waitFor } from './helpers.ts';

const BAD = 50;
const VALID = 100;
const SEED = 20261124;
const LIMIT = 64 * 1024;
const URL = `${SERVICES.redis.url}/0`;

/** amqplib's publish options, as the corpus writes them, as the properties a transport carries. */
function toRaw(m: RawPublish): RawMessage {
  const o = m.options;
  const properties: RawMessage['properties'] = {
    contentType: o.contentType ?? '',
    contentEncoding: o.contentEncoding ?? '',
    headers: (o.headers ?? {}) as Record<string, unknown>,
  };
  if (o.correlationId !== undefined) properties.correlationId = o.correlationId;
  if (typeof o.priority === 'number') properties.priority = o.priority;
  return { body: m.body, properties };
}

await describeWith(['redis'], 'malformed messages among valid ones, on Redis', () => {
  // Its own key prefix: `unacked` and the queues are this file's alone, and deleted at the end.
  const prefix = `${uniqueName('rmal')}:`;
  const queue = uniqueName('malformed');
  const brokerOptions = { globalKeyprefix: prefix };
  const redis = new Redis(URL);
  const { logger, lines } = captureLogger();
  const runs = new Map<number, number>();
  let app: Celeriac;
  let worker: Worker;
  let producer: RedisTransport;

  beforeAll(async () => {
    app = new Celeriac({
      broker: URL,
      brokerOptions,
      defaultQueue: queue,
      taskMessageMaxBytes: LIMIT,
      logger,
    });
    app.task('malformed.record', (n: number) => {
      runs.set(n, (runs.get(n) ?? 0) + 1);
      return n;
    });
    worker = await startWorker(app, { concurrency: 8, remoteControl: false, heartbeat: false, logger });
    producer = new RedisTransport(URL, {
      logger: silentLogger,
      heartbeatMs: 0,
      connectionMaxRetries: 3,
      options: brokerOptions,
    });
    await producer.connect();
  });

  afterAll(async () => {
    await stopAll();
    await producer?.close();
    await app?.close();
    const keys = await redis.keys(`${prefix}*`);
    if (keys.length > 0) await redis.del(...keys);
    redis.disconnect();
  });

  it('keeps the worker up, dead-letters each bad message with its reason, runs each valid task once', async () => {
    // Two well-formed bodies whose only fault is their size (over taskMessageMaxBytes).
    const bad = malformedCorpus('malformed.record', BAD, SEED, [LIMIT + 1, 4 * LIMIT]);
    const valid = Array.from({ length: VALID }, (_, n) => validTask('malformed.record', [n]));
    const rand = prng(SEED + 1);
    const stream: RawPublish[] = [...valid, ...bad];
    for (let i = stream.length - 1; i > 0; i--) {
      const j = Math.floor(rand() * (i + 1));
      [stream[i], stream[j]] = [stream[j]!, stream[i]!];
    }
    for (const m of stream) await producer.publish(toRaw(m), { exchange: '', routingKey: queue });

    const deadList = `${prefix}${queue}.dead`;
    await waitFor(() => runs.size >= VALID, 20_000, `${VALID} valid runs`);
    await waitFor(async () => (await redis.llen(deadList)) >= BAD, 20_000, `${BAD} dead`);
    await waitFor(async () => (await redis.hlen(`${prefix}unacked`)) === 0, 10_000, 'nothing unacked');
    expect(await producer.queueLength(queue)).toBe(0);

    // Still up and still taking work.
    await producer.publish(toRaw(validTask('malformed.record', [VALID])), {
      exchange: '',
      routingKey: queue,
    });
    await waitFor(() => runs.get(VALID) === 1, 10_000, 'a task after the bad ones');

    // Every bad message is in <queue>.dead, once, whole, with why; none ran.
    const dead = (await redis.lrange(deadList, 0, -1)).map(
      (text) => JSON.parse(text) as { body: string; headers: Record<string, unknown> },
    );
    expect(dead).toHaveLength(BAD);
    const reasons = new Map<string, string>();
    for (const envelope of dead) {
      const mark = String(envelope.headers[BAD_MARK]);
      const reason = envelope.headers[DEAD_REASON_HEADER];
      expect(typeof reason === 'string' && reason.length > 0, `reason of bad message ${mark}`).toBe(true);
      expect(envelope.headers[DEAD_QUEUE_HEADER]).toBe(queue);
      const sent = bad[Number(mark)];
      expect(sent, `dead message ${mark} is one we sent`).toBeDefined();
      expect(Buffer.from(envelope.body, 'base64').equals(sent!.body), `body of ${mark} kept`).toBe(true);
      reasons.set(mark, String(reason));
    }
    expect([...reasons.keys()].sort((a, b) => Number(a) - Number(b))).toEqual(
      Array.from({ length: BAD }, (_, i) => String(i)),
    );
    expect(reasons.get('0')).toContain('over taskMessageMaxBytes');
    expect(reasons.get('1')).toContain('over taskMessageMaxBytes');
    const kinds = new Map(bad.map((m, i) => [String(i), m.kind]));
    for (const [mark, reason] of reasons) {
      if (kinds.get(mark) === 'content type not JSON') expect(reason).toMatch(/content.type|refused/i);
    }

    expect([...runs.keys()].filter((n) => n < 0)).toEqual([]);
    expect([...runs.entries()].filter(([, count]) => count !== 1)).toEqual([]);
    expect(runs.size).toBe(VALID + 1);
    expect(worker.invalidCount).toBe(BAD);
    const refused = lines.filter(
      (l) => l.level === 50 && /rejected invalid message|unregistered task/i.test(l.msg),
    );
    expect(refused).toHaveLength(BAD);
  });
});
