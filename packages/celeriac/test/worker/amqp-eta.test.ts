import { execFile, execFileSync } from 'node:child_process';
import { promisify } from 'node:util';
import amqplib from 'amqplib';
import { lockBrokerSettings } from '../helpers/broker-settings-lock.ts';
import { afterAll, afterEach, beforeAll, expect, it } from 'vitest';
import { Celeriac } from '../../src/app/celeriac.ts';
import type { CeleriacOptions } from '../../src/app/config.ts';
import { describeWith, SERVICES, uniqueName } from '../helpers/services.ts';
import { captureLogger, startWorker, stopAll, waitFor } from './helpers.ts';

/** rabbitmqctl eval (one call costs seconds, so each call does all it can). */
function rabbitEval(expr: string): string {
  return execFileSync('rabbitmqctl', ['eval', expr], { encoding: 'utf8' }).trim();
}

/**
 * `{ready, unacked}` per queue, as RabbitMQ counts them. Asynchronous on purpose: rabbitmqctl takes
 * seconds, and a blocked event loop would keep the worker from re-parking a message that comes back.
 */
async function queueCounts(): Promise<Map<string, { ready: number; unacked: number }>> {
  const { stdout } = await promisify(execFile)('rabbitmqctl', [
    'list_queues',
    '-q',
    '--no-table-headers',
    'name',
    'messages_ready',
    'messages_unacknowledged',
  ]);
  const counts = new Map<string, { ready: number; unacked: number }>();
  for (const line of stdout.split('\n')) {
    const [name, ready, unacked] = line.trim().split(/\s+/);
    if (name) counts.set(name, { ready: Number(ready), unacked: Number(unacked) });
  }
  return counts;
}

const prefix = uniqueName('celeriac-test.delay');
const created = { queues: new Set<string>(), exchanges: new Set<string>() };

function amqpApp(options: CeleriacOptions = {}): { app: Celeriac; queue: string } {
  const queue = uniqueName('worker-q');
  created.queues.add(queue);
  created.exchanges.add(queue);
  const app = new Celeriac({
    broker: SERVICES.rabbitmq.url,
    backend: `memory://${uniqueName('amqp-results')}`,
    defaultQueue: queue,
    ...options,
    brokerOptions: { delayPrefix: prefix, delayBucketsMs: [1000, 2000], ...options.brokerOptions },
  });
  return { app, queue };
}

afterEach(stopAll);

await describeWith(['rabbitmq'], 'worker ETAs on RabbitMQ with a short consumer_timeout', () => {
  let restore = '';
  let unlock: (() => void) | undefined;

  beforeAll(async () => {
    unlock = await lockBrokerSettings();
    // The timeout is checked on the channel tick (60 s by default), so both are lowered; the old
    // values are read first and put back in afterAll, since others share this RabbitMQ.
    const old = rabbitEval(
      'Old = {application:get_env(rabbit, consumer_timeout), application:get_env(rabbit, channel_tick_interval)}, ' +
        'application:set_env(rabbit, consumer_timeout, 3000), application:set_env(rabbit, channel_tick_interval, 500), Old.',
    );
    const [, timeout = '1800000', tick = '60000'] = /\{\{ok,(\d+)\},\{ok,(\d+)\}\}/.exec(old) ?? [];
    // A value below RabbitMQ's default was lowered by another test running now: put the default back instead.
    const keep = (value: string, byDefault: number) => String(Math.max(Number(value), byDefault));
    restore =
      `application:set_env(rabbit, consumer_timeout, ${keep(timeout, 1_800_000)}), ` +
      `application:set_env(rabbit, channel_tick_interval, ${keep(tick, 60_000)}).`;
  });

  afterAll(async () => {
    if (restore) rabbitEval(restore);
    unlock?.();
    const connection = await amqplib.connect(SERVICES.rabbitmq.url);
    const channel = await connection.createChannel();
    for (const bucket of [1000, 2000]) {
      created.queues.add(`${prefix}.${bucket}`);
      created.exchanges.add(`${prefix}.${bucket}`);
    }
    for (const q of created.queues) await channel.deleteQueue(q);
    for (const e of created.exchanges) await channel.deleteExchange(e);
    await connection.close();
  });

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
