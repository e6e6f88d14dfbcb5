/**
 * Issue 8, second half: SIGTERM while worker, beat and monitor are reconnecting after the broker
 * went away (a TCP proxy in front of the shared RabbitMQ drops their connections and refuses new
 * ones). The worker makes a warm shutdown: the running task finishes and stores its result, the
 * prefetched ones that never ran stay in the queue for the next worker.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { Celeriac } from '../../src/app/celeriac.ts';
import { TcpProxy } from '../reliability/tcp-proxy.ts';
import { describeWith, SERVICES, uniqueName } from '../helpers/services.ts';
import { CliProcess, type Exit } from './cli-process.ts';

const APP = fileURLToPath(new URL('./fixtures/stop-app.ts', import.meta.url));
const LOST = /lost connection to .*reconnecting/;
const PROMPTLY_MS = 10_000;
/** Generous: start-up of several CLIs at once on a busy 2-core machine is slow; a normal run takes ~10 s. */
const TEST_TIMEOUT_MS = 60_000;

function expectCleanExit(exit: Exit): void {
  expect(exit.signal, 'killed: it ignored SIGTERM').toBeNull();
  expect(exit.code).toBe(0);
  expect(exit.afterSignalMs).toBeLessThan(PROMPTLY_MS);
}

/** Consumes `queue` until `count` messages came (or 10 s passed) and returns their task ids. */
async function takeTaskIds(app: Celeriac, queue: string, count: number): Promise<string[]> {
  const transport = await app.connection();
  const ids: string[] = [];
  const consumer = await transport.consume([queue], { prefetch: 0 }, (delivery) => {
    ids.push(String(delivery.message.properties.headers?.id));
    delivery.ack();
  });
  const deadline = Date.now() + 10_000;
  while (ids.length < count && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
  await consumer.cancel();
  return ids;
}

await describeWith(
  ['rabbitmq', 'redis'],
  'stop signals while reconnecting to a lost broker (issue 8)',
  () => {
    const dir = mkdtempSync(join(tmpdir(), 'celeriac-stop-'));
    const started: CliProcess[] = [];
    const proxies: TcpProxy[] = [];

    afterAll(async () => {
      await Promise.all(started.map((p) => p.kill()));
      await Promise.all(proxies.map((p) => p.close()));
      rmSync(dir, { recursive: true, force: true });
    });

    /** Starts the command behind a proxy of its own (the tests run at the same time). */
    async function start(args: string[], queue: string): Promise<{ p: CliProcess; proxy: TcpProxy }> {
      const proxy = await TcpProxy.start({ host: SERVICES.rabbitmq.host, port: SERVICES.rabbitmq.port });
      proxies.push(proxy);
      const broker = `amqp://guest:guest@127.0.0.1:${proxy.port}//`;
      const p = new CliProcess(['-A', APP, '-b', broker, '-l', 'info', ...args], { STOP_TEST_QUEUE: queue });
      started.push(p);
      return { p, proxy };
    }

    describe.concurrent('each runs through the proxy, which then drops them', () => {
      it(
        'worker: warm shutdown; the running task finishes, the unstarted ones stay queued',
        async () => {
          const queue = uniqueName('stop-reconnecting');
          const backend = `${SERVICES.redis.url}/6`;
          const client = new Celeriac({ broker: SERVICES.rabbitmq.url, backend, defaultQueue: queue });
          try {
            const { p: worker, proxy } = await start(
              ['--result-backend', backend, 'worker', '-c', '1', '--without-mingle', '-n', `${queue}@test`],
              queue,
            );
            await worker.waitFor(/ready\./);
            const running = await client.sendTask('stop.sleep', [2_000]);
            const waiting = await Promise.all([1, 2, 3].map((n) => client.sendTask('stop.add', [n, n])));
            await worker.waitFor(/stop\.sleep started/);
            proxy.down();
            await worker.waitFor(LOST);
            const exit = await worker.stop('SIGTERM');
            proxy.up();
            expectCleanExit(exit);
            expect(worker.stderr).toMatch(/Task stop\.sleep\[[^\]]+\] succeeded/);
            expect(await running.get({ timeout: 5_000 })).toBe('slept');
            // Prefetched, never started: back in the queue once the broker saw the connection go. (The
            // running task's ack may not have left before the cut: then it is redelivered too, as at-least-once allows.)
            const left = await takeTaskIds(client, queue, waiting.length);
            expect(left.filter((id) => id !== running.id).sort()).toEqual(waiting.map((r) => r.id).sort());
            for (const r of waiting) expect(await client.AsyncResult(r.id).state).toBe('PENDING');
          } finally {
            await (await client.connection()).deleteQueue(queue).catch(() => undefined);
            await client.close();
          }
        },
        TEST_TIMEOUT_MS,
      );

      it(
        'beat: stops while its sends wait for the broker to come back',
        async () => {
          const queue = uniqueName('stop-reconnecting-beat');
          const { p: beat, proxy } = await start(['beat', '-s', join(dir, `${queue}.json`)], queue);
          await beat.waitFor(/beat: sent due task/);
          proxy.down();
          await beat.waitFor(LOST);
          const exit = await beat.stop('SIGTERM');
          expectCleanExit(exit);
          expect(beat.stderr).toContain('beat: stopping (SIGTERM)');
          const cleanup = new Celeriac({ broker: SERVICES.rabbitmq.url });
          await (await cleanup.connection()).deleteQueue(queue).catch(() => undefined);
          await cleanup.close();
        },
        TEST_TIMEOUT_MS,
      );

      it(
        'monitor: stops while its event consumer is reconnecting',
        async () => {
          const { p: monitor, proxy } = await start(
            [
              'monitor',
              '--port',
              '0',
              '--insecure-no-auth',
              '--db',
              `sqlite://${join(dir, `${uniqueName('monitor')}.db`)}`,
            ],
            uniqueName('stop-reconnecting-monitor'),
          );
          await monitor.waitFor(/celeriac monitor: http/);
          proxy.down();
          await monitor.waitFor(LOST);
          const exit = await monitor.stop('SIGTERM');
          expectCleanExit(exit);
        },
        TEST_TIMEOUT_MS,
      );
    });
  },
);
