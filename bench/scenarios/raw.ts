import { performance } from 'node:perf_hooks';
import type { Channel, ConsumeMessage } from 'amqplib';
import {
  declareCeleryQueue,
  deleteCeleryQueue,
  openAmqp,
  publishConfirmed,
  queueDepth,
  queueDepthOn,
} from '../lib/amqp.ts';
import { celeryMessage } from '../lib/celery-message.ts';
import { preloadQueue } from '../lib/preload.ts';
import { formatCount } from '../lib/progress.ts';
import { cpuMeter, ratePerSecond } from '../lib/stats.ts';
import type { Figure, Scenario, ScenarioContext } from '../lib/types.ts';
import { randomUUID } from 'node:crypto';

/** Acks are sent with `multiple` every this many deliveries (and whenever the event loop idles). */
const ACK_BATCH = 64;

/**
 * The ceiling: amqplib alone, moving messages of Celery's size and shape (16 headers, same body),
 * with the same confirm window and prefetch the Celeriac rows get.
 */
export const rawScenario: Scenario = {
  name: 'raw',
  title: 'raw amqplib: publish with confirms, consume + ack',
  async run(ctx) {
    return [
      ...(await ctx.attempt('raw publish', () => rawPublish(ctx))),
      ...(await ctx.attempt('raw consume (batched acks)', () => rawConsume(ctx, 'batched'))),
      ...(await ctx.attempt('raw consume (ack each)', () => rawConsume(ctx, 'each'))),
    ];
  },
};

const noopMessage = () => celeryMessage('bench.noop', randomUUID(), { ignoreResult: true });

async function rawPublish(ctx: ScenarioContext): Promise<Figure> {
  const { publishN: n, publishWindow } = ctx.settings;
  const queue = ctx.uniqueName('bench-raw-pub');
  const conn = await openAmqp(ctx.settings.amqpUrl);
  try {
    await declareCeleryQueue(ctx.conn, queue);
    const ch = await conn.createConfirmChannel();
    const warmup = Math.min(2000, n);
    await publishConfirmed(ch, queue, warmup, noopMessage, publishWindow);
    const cpu = cpuMeter();
    const started = performance.now();
    await publishConfirmed(ch, queue, n, noopMessage, publishWindow, (done) =>
      ctx.progress.update(`raw publish ${formatCount(done)}/${formatCount(n)}`),
    );
    const elapsed = performance.now() - started;
    const cpuUsPerTask = cpu(n);
    const { ready } = await queueDepth(ch, queue);
    if (ready !== n + warmup) throw new Error(`raw publish: broker holds ${ready}, expected ${n + warmup}`);
    const sample = await sampleShape(ch, queue);
    return {
      id: 'raw.publish',
      label: 'raw amqplib publish (confirms)',
      kind: 'rate',
      value: ratePerSecond(n, elapsed),
      n,
      details: { window: publishWindow, elapsedMs: Math.round(elapsed), cpuUsPerTask, ...sample },
    };
  } finally {
    await conn.close().catch(() => {});
    await deleteCeleryQueue(ctx.conn, queue);
  }
}

/** Header count and body size of one message on the queue: evidence the rows move the same bytes. */
export async function sampleShape(
  ch: Channel,
  queue: string,
): Promise<{ headers: number; bodyBytes: number }> {
  const message = await ch.get(queue, { noAck: false });
  if (!message) throw new Error(`no message on ${queue} to sample`);
  ch.nack(message, false, true);
  return { headers: Object.keys(message.properties.headers ?? {}).length, bodyBytes: message.content.length };
}

async function rawConsume(ctx: ScenarioContext, acks: 'batched' | 'each'): Promise<Figure> {
  const n = ctx.settings.publishN;
  const prefetch = ctx.settings.celeriacConcurrency * ctx.settings.prefetchMultiplier;
  const queue = ctx.uniqueName(`bench-raw-consume-${acks}`);
  const conn = await openAmqp(ctx.settings.amqpUrl);
  try {
    await preloadQueue(ctx, queue, n, noopMessage);
    const ch = await conn.createChannel();
    await ch.prefetch(prefetch);
    let received = 0;
    let pending: ConsumeMessage | undefined;
    let pendingCount = 0;
    let flushQueued = false;
    const flush = () => {
      flushQueued = false;
      if (pending) ch.ack(pending, true);
      pending = undefined;
      pendingCount = 0;
    };
    const cpu = cpuMeter();
    const started = performance.now();
    const elapsed = await new Promise<number>((resolve, reject) => {
      ch.on('error', reject);
      ch.consume(queue, (message) => {
        if (!message) return reject(new Error(`consumer of ${queue} was cancelled by the broker`));
        received++;
        if (acks === 'each') ch.ack(message);
        else {
          pending = message;
          if (++pendingCount >= ACK_BATCH) flush();
          else if (!flushQueued) {
            flushQueued = true;
            setImmediate(flush);
          }
        }
        if ((received & 1023) === 0)
          ctx.progress.update(`raw consume (${acks}) ${formatCount(received)}/${formatCount(n)}`);
        if (received === n) {
          flush();
          resolve(performance.now() - started);
        }
      }).catch(reject);
    });
    const cpuUsPerTask = cpu(n);
    await ch.close();
    const { ready } = await queueDepthOn(ctx.conn, queue);
    if (ready !== 0) throw new Error(`raw consume: ${ready} messages left on ${queue} after acking all ${n}`);
    return {
      id: acks === 'batched' ? 'raw.consume-ack' : 'raw.consume-ack-each',
      label:
        acks === 'batched'
          ? `raw amqplib consume + ack (multiple, every ${ACK_BATCH})`
          : 'raw amqplib consume + ack each',
      kind: 'rate',
      value: ratePerSecond(n, elapsed),
      n,
      details: { prefetch, elapsedMs: Math.round(elapsed), cpuUsPerTask },
    };
  } finally {
    await conn.close().catch(() => {});
    await deleteCeleryQueue(ctx.conn, queue);
  }
}
