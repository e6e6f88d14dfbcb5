/**
 * 1,000 malformed messages mixed into a live queue with 2,000 valid tasks, published raw with amqplib as
 * a broken or hostile producer would: fuzzed headers, bodies, encodings, compression, and well-formed
 * bodies up to RabbitMQ's `max_message_size`. The worker must stay up, set every bad message aside in
 * `<queue>.dead` with the reason in a header (and one error line each), and run every valid task exactly
 * once. A message over the broker's limit is refused by the broker itself, at the producer.
 */
import amqplib, { type Channel, type ChannelModel, type ConfirmChannel } from 'amqplib';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { Celeriac } from '../../packages/celeriac/src/app/celeriac.ts';
import { DEAD_REASON_HEADER } from '../../packages/celeriac/src/transports/amqp/amqp-dead-letter.ts';
import { Worker } from '../../packages/celeriac/src/worker/worker.ts';
import { describeWith, SERVICES, uniqueName } from '../../packages/celeriac/test/helpers/services.ts';
import { captureLogger } from '../../packages/celeriac/test/worker/helpers.ts';
import { brokerMaxMessageSize, pollUntil, queueDepth, tally } from './chaos-helpers.ts';
import { BAD_MARK, malformedCorpus, prng, validTask, type RawPublish } from './malformed-corpus.ts';
import { recordScenario } from './report.ts';

const BAD = 1_000;
const VALID = 2_000;
const SEED = Number(process.env.CHAOS_SEED ?? 20261124);

await describeWith(['rabbitmq', 'redis'], 'malformed messages mixed into a live queue', () => {
  const queue = uniqueName('chaos-malformed');
  const dead = `${queue}.dead`;
  const runsKey = `${queue}:runs`;
  const redis = new Redis(SERVICES.redis.url, { maxRetriesPerRequest: 2 });
  const { logger, lines } = captureLogger();
  let app: Celeriac;
  let worker: Worker;
  let connection: ChannelModel;
  let maxSize = 0;

  beforeAll(async () => {
    maxSize = await brokerMaxMessageSize();
    app = new Celeriac({ broker: SERVICES.rabbitmq.url, defaultQueue: queue, logger });
    app.task('chaos.record', async (n: number) => {
      await redis.hincrby(runsKey, String(n), 1);
      return n;
    });
    worker = new Worker(app, { concurrency: 8, remoteControl: false, heartbeat: false });
    await worker.start();
    connection = await amqplib.connect(SERVICES.rabbitmq.url);
  });

  afterAll(async () => {
    await worker?.stop({ graceful: false });
    const channel = await connection?.createChannel();
    await channel?.deleteQueue(queue).catch(() => undefined);
    await channel?.deleteQueue(dead).catch(() => undefined);
    await connection?.close().catch(() => undefined);
    await app?.close();
    await redis.del(runsKey);
    redis.disconnect();
  });

  it('keeps the worker up, dead-letters every bad message with a reason, runs every valid task once', async () => {
    // Three well-formed bodies over taskMessageMaxBytes (10 MiB), the largest just under the broker's limit.
    const large = [10 * 1024 * 1024 + 1, 64 * 1024 * 1024, maxSize - 64 * 1024];
    const bad = malformedCorpus('chaos.record', BAD, SEED, large);
    const valid = Array.from({ length: VALID }, (_, n) => ({ n, message: validTask('chaos.record', [n]) }));
    // Interleave at random positions (seeded), so bad messages sit between valid ones in the queue.
    const rand = prng(SEED + 1);
    const stream: Array<RawPublish & { kind?: string }> = [...valid.map((v) => v.message), ...bad];
    for (let i = stream.length - 1; i > 0; i--) {
      const j = Math.floor(rand() * (i + 1));
      [stream[i], stream[j]] = [stream[j]!, stream[i]!];
    }
    const producer: ConfirmChannel = await connection.createConfirmChannel();
    for (const m of stream) producer.publish('', queue, m.body, m.options);
    await producer.waitForConfirms();
    await producer.close();

    // Over the limit: RabbitMQ itself refuses it (channel error at the producer), so nothing reaches the queue.
    const overLimit = await connection.createConfirmChannel();
    const closed = new Promise<Error>((resolve) => overLimit.once('error', resolve));
    overLimit.on('close', () => undefined);
    overLimit.publish('', queue, Buffer.alloc(maxSize + 1, 0x78), { headers: { [BAD_MARK]: 'over-limit' } });
    const refusal = await closed;
    expect(refusal.message).toMatch(/PRECONDITION_FAILED|larger than configured max size/i);

    await pollUntil(async () => (await redis.hlen(runsKey)) >= VALID, 120_000, `${VALID} valid runs`);
    const inspect: Channel = await connection.createChannel();
    await pollUntil(async () => (await queueDepth(connection, dead)) >= BAD, 120_000, `${BAD} dead`);
    await pollUntil(
      async () => (await inspect.checkQueue(queue)).messageCount === 0,
      30_000,
      'an empty queue',
    );

    // The worker is still up and still takes work.
    inspect.sendToQueue(queue, ...spread(validTask('chaos.record', [VALID])));
    await pollUntil(
      async () => (await redis.hget(runsKey, String(VALID))) === '1',
      30_000,
      'a task after the storm',
    );

    // Every bad message is in <queue>.dead, once, with a reason; none ran.
    const reasons = new Map<string, string>();
    let deadCount = 0;
    for (;;) {
      const got = await inspect.get(dead, { noAck: true });
      if (got === false) break;
      deadCount++;
      const mark = got.properties.headers?.[BAD_MARK] as unknown;
      const reason = got.properties.headers?.[DEAD_REASON_HEADER] as unknown;
      expect(typeof mark).toBe('string');
      expect(typeof reason === 'string' && reason.length > 0).toBe(true);
      reasons.set(String(mark), String(reason));
    }
    await inspect.close();
    expect(deadCount).toBe(BAD);
    expect(reasons.size).toBe(BAD);
    for (let i = 0; i < BAD; i++)
      expect(reasons.has(String(i)), `bad message ${i} (${bad[i]!.kind})`).toBe(true);
    expect(reasons.has('over-limit')).toBe(false);
    for (const [i, bytes] of large.entries()) {
      expect(reasons.get(String(i))).toContain('over taskMessageMaxBytes');
      expect(bytes).toBeLessThanOrEqual(maxSize);
    }

    // One error line per bad message, and the worker counted each.
    const refused = lines.filter(
      (l) => l.level === 50 && /rejected invalid message|unregistered task/i.test(l.msg),
    );
    expect(refused).toHaveLength(BAD);
    expect(worker.invalidCount).toBe(BAD);

    const runs = await tally(redis, runsKey, [...valid.map((v) => String(v.n)), String(VALID)]);
    const negative = Object.keys(await redis.hgetall(runsKey)).filter((k) => Number(k) < 0);
    expect(negative).toEqual([]); // no bad message ran
    expect(runs).toEqual({ completed: VALID + 1, duplicates: 0, lost: 0, unexpected: 0 });

    const byKind = new Map<string, number>();
    for (const m of bad) byKind.set(m.kind, (byKind.get(m.kind) ?? 0) + 1);
    recordScenario({
      id: 'malformed-messages-amqp',
      scenario: 'Malformed messages mixed into a live queue (RabbitMQ)',
      load: `${VALID.toLocaleString('en-US')} valid tasks + ${BAD.toLocaleString('en-US')} malformed, published raw with amqplib, async pool c=8`,
      faults: `${byKind.size} kinds of damage (headers, bodies, encodings, compression, sizes up to ${Math.round(maxSize / 1024 / 1024)} MiB); 1 over the broker limit`,
      sent: VALID + 1 + BAD,
      completed: runs.completed + deadCount,
      duplicates: runs.duplicates,
      lost: VALID + 1 - runs.completed + (BAD - deadCount),
      notes: `every valid task ran exactly once; all ${deadCount} bad messages in <queue>.dead with a reason header; one over max_message_size refused by RabbitMQ at the producer (${/\d{3} \([A-Z-]+\)/.exec(refusal.message)?.[0] ?? refusal.message})`,
    });
  });
});

function spread(m: RawPublish): [Buffer, RawPublish['options']] {
  return [m.body, m.options];
}
