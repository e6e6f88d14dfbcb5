import { afterAll, afterEach, beforeAll, expect, it } from 'vitest';
import { Celeriac } from '../../src/app/celeriac.ts';
import type { CeleriacOptions } from '../../src/app/config.ts';
import { startPrivateRabbitMQ, type PrivateRabbitMQ } from '../helpers/private-rabbitmq.ts';
import { describeWith, uniqueName } from '../helpers/services.ts';
import { captureLogger, startWorker, stopAll, waitFor } from './helpers.ts';

/**
 * celery#6760 with the broker enforcing a 3 s consumer_timeout. RabbitMQ 3.10 has no per-queue
 * timeout, and lowering the global one on the shared broker would close the channel of any other
 * test holding a message that long, so this file runs its own node (the shared broker being
 * reachable is what says RabbitMQ is installed here). The timeout is checked on the channel tick
 * (60 s by default), so the tick is shortened too.
 */
let rabbit: PrivateRabbitMQ;

/** `{ready, unacked}` per queue, as RabbitMQ counts them (rabbitmqctl is asynchronous, so workers keep running). */
async function queueCounts(): Promise<Map<string, { ready: number; unacked: number }>> {
  const stdout = await rabbit.rabbitmqctl(
    'list_queues',
    '-q',
    '--no-table-headers',
    'name',
    'messages_ready',
    'messages_unacknowledged',
  );
  const counts = new Map<string, { ready: number; unacked: number }>();
  for (const line of stdout.split('\n')) {
    const [name, ready, unacked] = line.trim().split(/\s+/);
    if (name) counts.set(name, { ready: Number(ready), unacked: Number(unacked) });
  }
  return counts;
}

const prefix = 'celeriac-test.delay';

function amqpApp(options: CeleriacOptions = {}): { app: Celeriac; queue: string } {
  const queue = uniqueName('worker-q');
  const app = new Celeriac({
    broker: rabbit.url,
    backend: `memory://${uniqueName('amqp-results')}`,
    defaultQueue: queue,
    ...options,
    brokerOptions: { delayPrefix: prefix, delayBucketsMs: [1000, 2000], ...options.brokerOptions },
  });
  return { app, queue };
}

afterEach(stopAll);

await describeWith(['rabbitmq'], 'worker ETAs on RabbitMQ with a short consumer_timeout', () => {
  beforeAll(async () => {
    rabbit = await startPrivateRabbitMQ({
      rabbitEnv: { consumer_timeout: 3000, channel_tick_interval: 500 },
    });
  }, 90_000);

  // The node and everything declared on it go together.
  afterAll(() => rabbit?.stop());

  // One test runs three workers side by side, so the file waits out consumer_timeout once.
  it('celery#6760: far ETAs are parked, not held past consumer_timeout; a 6 s countdown runs once at its time', async () => {
    // 1. a 2-hour countdown with etaParkAfter 2 s: parked in the delay buckets
    const parking = captureLogger();
    const far = amqpApp({ etaParkAfter: '2s', logger: parking.logger });
    let farRuns = 0;
    const farTask = far.app.task('amqp.far', () => ++farRuns);
    const ping = far.app.task('amqp.ping', () => 'pong');
    const farWorker = await startWorker(far.app);
    // 2. control: the same countdown held unacked in memory (Celery's behaviour) loses its channel
    const holding = captureLogger();
    const held = amqpApp({ etaParkAfter: '3h', logger: holding.logger });
    held.app.task('amqp.held', () => 'never');
    const heldWorker = await startWorker(held.app);
    // 3. a 6 s countdown with etaParkAfter 2 s: parked twice, then held, then run once
    const soon = amqpApp({ etaParkAfter: '2s' });
    const ranAt: number[] = [];
    const soonTask = soon.app.task('amqp.soon', () => ranAt.push(Date.now()));
    await startWorker(soon.app);

    const sentAt = Date.now();
    await Promise.all([
      farTask.applyAsync([], {}, { countdown: 7200 }),
      held.app.sendTask('amqp.held', [], {}, { countdown: 7200 }),
      soonTask.applyAsync([], {}, { countdown: 6 }),
    ]);
    await waitFor(() => heldWorker.scheduled().length === 1, 5000);
    await waitFor(() => ranAt.length === 1, 10_000, 'the 6 s countdown');
    const delay = ranAt[0]! - sentAt;
    expect(delay).toBeGreaterThanOrEqual(5_950);
    expect(delay).toBeLessThan(7_500);

    // the control shows the broker enforces the timeout in this setup...
    await waitFor(
      () =>
        holding.lines.some(
          (l) => String(l.msg).includes('consumer channel') && /timeout|PRECONDITION/i.test(String(l.msg)),
        ),
      5000,
      'the broker to close the holding channel',
    );
    // ...while the parking worker's channel lived through it, holding nothing unacked
    expect(parking.lines.filter((l) => String(l.msg).includes('consumer channel')).map((l) => l.msg)).toEqual(
      [],
    );
    const counts = await queueCounts();
    expect(counts.get(far.queue)).toEqual({ ready: 0, unacked: 0 });
    expect(counts.get(`${prefix}.2000`)?.unacked).toBe(0);
    expect(counts.get(`${prefix}.2000`)!.ready).toBeGreaterThanOrEqual(1); // the far one bouncing in the 2 s bucket
    expect(farWorker.scheduled()).toEqual([]);
    expect(farRuns).toBe(0);
    expect(await (await ping.delay()).get({ timeout: 3000 })).toBe('pong'); // the same channel still delivers
    await new Promise((r) => setTimeout(r, 300));
    expect(ranAt).toHaveLength(1);
  });
});
