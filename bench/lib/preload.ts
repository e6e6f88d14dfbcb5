import { performance } from 'node:perf_hooks';
import type { CeleryMessage } from './celery-message.ts';
import { declareCeleryQueue, publishConfirmed, queueDepth } from './amqp.ts';
import { formatCount } from './progress.ts';
import type { ScenarioContext } from './types.ts';

/**
 * Declares `queue` as Celery does and fills it with `n` messages through the harness connection
 * (not the client being measured); checks the broker holds all of them before returning.
 */
export async function preloadQueue(
  ctx: ScenarioContext,
  queue: string,
  n: number,
  make: (index: number) => CeleryMessage,
): Promise<void> {
  await declareCeleryQueue(ctx.conn, queue);
  const ch = await ctx.conn.createConfirmChannel();
  try {
    const started = performance.now();
    await publishConfirmed(ch, queue, n, make, ctx.settings.publishWindow, (done) =>
      ctx.progress.update(`pre-loading ${queue}: ${formatCount(done)}/${formatCount(n)}`),
    );
    const { ready } = await queueDepth(ch, queue);
    if (ready !== n) throw new Error(`pre-load of ${queue}: broker holds ${ready} messages, expected ${n}`);
    ctx.progress.log(
      `pre-loaded ${formatCount(n)} messages in ${Math.round(performance.now() - started)} ms`,
    );
  } finally {
    await ch.close();
  }
}
