/**
 * Decompression bombs: `taskMessageMaxBytes` bounds what a body inflates to, not only its
 * compressed size. A zlib body of ~1 MiB and a brotli body of ~2 KiB, each inflating to 1 GiB, are
 * stopped at the limit while inflating, dead-lettered to `<queue>.dead` with the reason, and the
 * worker's peak memory stays far below what inflating them would take; it keeps running tasks,
 * compressed ones included.
 */
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { Transform } from 'node:stream';
import { createBrotliCompress, createDeflate, constants, deflateSync } from 'node:zlib';
import amqplib from 'amqplib';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { Celeriac } from '../../packages/celeriac/src/app/celeriac.ts';
import { Worker } from '../../packages/celeriac/src/worker/worker.ts';
import { capturingLogger } from '../../packages/celeriac/test/backends/capturing-logger.ts';
import { describeWith, SERVICES, uniqueName } from '../../packages/celeriac/test/helpers/services.ts';
import { waitFor } from '../../packages/celeriac/test/worker/helpers.ts';

const MiB = 1024 * 1024;
const GiB = 1024 * MiB;

/** A task body (`[args, kwargs, embed]`) that is 1 GiB of JSON: one string argument of spaces after `[["`. */
async function compressGiB(compressor: Transform): Promise<Buffer> {
  const chunk = Buffer.alloc(MiB, 0x20);
  async function* body() {
    yield Buffer.from('[["');
    for (let i = 0; i < GiB / MiB; i++) yield chunk;
    yield Buffer.from('"], {}, {}]');
  }
  const parts: Buffer[] = [];
  await pipeline(Readable.from(body()), compressor, async (compressed: AsyncIterable<Buffer>) => {
    for await (const part of compressed) parts.push(part);
  });
  return Buffer.concat(parts);
}

await describeWith(['rabbitmq'], 'compressed task messages that inflate past taskMessageMaxBytes', () => {
  const queue = uniqueName('security-bombs');
  const dlq = `${queue}.dead`;
  const { logger, lines } = capturingLogger();
  let connection: amqplib.ChannelModel;
  let channel: amqplib.Channel;
  let app: Celeriac;
  let worker: Worker;
  const ran: unknown[] = [];
  let zlibBomb: Buffer;
  let brotliBomb: Buffer;

  beforeAll(async () => {
    [zlibBomb, brotliBomb] = await Promise.all([
      compressGiB(createDeflate({ level: 9 })),
      compressGiB(createBrotliCompress({ params: { [constants.BROTLI_PARAM_QUALITY]: 5 } })),
    ]);
    connection = await amqplib.connect(SERVICES.rabbitmq.url);
    channel = await connection.createChannel();
    // The default limit (10 MiB): both bombs are far under it compressed.
    app = new Celeriac({
      broker: SERVICES.rabbitmq.url,
      backend: `memory://${queue}`,
      defaultQueue: queue,
      logger,
    });
    app.task('security.echo', (value: unknown) => (ran.push(value), value));
    worker = new Worker(app, { queues: [queue], concurrency: 2, logger });
    await worker.start();
  }, 60_000);

  afterAll(async () => {
    await worker?.stop().catch(() => undefined);
    await app?.close().catch(() => undefined);
    await channel?.deleteQueue(queue).catch(() => undefined);
    await channel?.deleteExchange(queue).catch(() => undefined);
    await channel?.deleteQueue(dlq).catch(() => undefined);
    await connection?.close().catch(() => undefined);
  });

  const send = (id: string, body: Buffer, compression: string) =>
    channel.sendToQueue(queue, body, {
      contentType: 'application/json',
      contentEncoding: 'utf-8',
      correlationId: id,
      headers: {
        lang: 'py',
        task: 'security.echo',
        id,
        root_id: id,
        argsrepr: '',
        kwargsrepr: '',
        compression,
      },
    });

  it('are dead-lettered with the reason, without inflating them; the worker goes on', async () => {
    // What inflating would cost: each bomb is 1 GiB of output (and a string of it more again).
    expect(zlibBomb.length).toBeLessThan(2 * MiB);
    expect(brotliBomb.length).toBeLessThan(10 * 1024);
    const peakBeforeKiB = process.resourceUsage().maxRSS;

    send('zlib-bomb', zlibBomb, 'application/x-gzip'); // kombu's "gzip"/"zlib" name
    send('brotli-bomb', brotliBomb, 'application/x-brotli');
    send('bzip2-1', Buffer.from('BZh91AY&SY'), 'application/x-bz2'); // no decoder: refused, not inflated
    // Compression itself still works under the limit, as kombu sends it.
    send('zlib-ok', deflateSync(JSON.stringify([['compressed'], {}, {}])), 'application/x-gzip');
    const ok = await app.sendTask('security.echo', ['plain']);
    expect(await ok.get({ timeout: 10_000 })).toBe('plain');
    await waitFor(() => ran.includes('compressed'), 10_000, 'the compressed task ran');

    // The dead-letter queue is declared with the first dead letter; until then a passive declare
    // fails with 404 and closes its channel, so each look uses a channel of its own.
    const deadLetters = async () => {
      const look = await connection.createChannel();
      look.on('error', () => undefined);
      try {
        return (await look.checkQueue(dlq)).messageCount;
      } catch {
        return 0;
      } finally {
        await look.close().catch(() => undefined);
      }
    };
    await waitFor(async () => (await deadLetters()) === 3, 10_000, 'three dead letters');
    const dead: Record<string, unknown>[] = [];
    for (let i = 0; i < 3; i++) {
      const msg = await channel.get(dlq, { noAck: true });
      if (!msg) throw new Error('dead-letter queue emptied under us');
      dead.push({
        id: msg.properties.correlationId,
        reason: msg.properties.headers?.['x-celeriac-dead-reason'],
        bytes: msg.content.length,
      });
    }
    expect(dead.sort((a, b) => String(a.id).localeCompare(String(b.id)))).toEqual([
      {
        id: 'brotli-bomb',
        reason: expect.stringMatching(
          /task message security\.echo\[brotli-bomb\] is .* of application\/x-brotli that inflates past taskMessageMaxBytes \(10 MiB\); decompression was stopped there/,
        ),
        bytes: brotliBomb.length,
      },
      {
        id: 'bzip2-1',
        reason: expect.stringMatching(/compression "application\/x-bz2" is not supported/),
        bytes: 10,
      },
      {
        id: 'zlib-bomb',
        reason: expect.stringMatching(
          /of application\/x-gzip that inflates past taskMessageMaxBytes \(10 MiB\)/,
        ),
        bytes: zlibBomb.length,
      },
    ]);
    // Inflating either would have taken over 1 GiB; stopping at 10 MiB keeps the peak far below that.
    const peakGrowthMiB = (process.resourceUsage().maxRSS - peakBeforeKiB) / 1024;
    expect(peakGrowthMiB).toBeLessThan(256);
    expect(ran.sort()).toEqual(['compressed', 'plain']);
    const logged = lines()
      .filter((l) => l.level === 50)
      .map((l) => String(l.msg));
    expect(logged.filter((m) => /inflates past taskMessageMaxBytes/.test(m))).toHaveLength(2);
  }, 30_000);
});
