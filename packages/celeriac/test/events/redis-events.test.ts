import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';
import { afterAll, expect, it } from 'vitest';
import { Celeriac } from '../../src/app/celeriac.ts';
import { attachEvents } from '../../src/events/worker-events.ts';
import { Worker } from '../../src/worker/worker.ts';
import { describeWith, SERVICES, uniqueName } from '../helpers/services.ts';
import { waitFor } from '../worker/helpers.ts';
import { EventLog } from './helpers.ts';

const HERE = fileURLToPath(new URL('.', import.meta.url));

/** §3.5: on Redis the celeryev exchange is a fanout over PUBLISH `/{db}.celeryev/<routing key>`. */
await describeWith(['redis'], 'worker events over Redis (pub/sub fanout)', () => {
  const broker = `${SERVICES.redis.url}/11`;
  let dump: ChildProcess | undefined;

  afterAll(async () => {
    if (dump && dump.exitCode === null && dump.signalCode === null) {
      dump.kill('SIGKILL');
      await once(dump, 'close');
    }
  });

  it('our receiver and Python’s `celery events --dump` both see a Celeriac worker’s events', async () => {
    const queue = uniqueName('h9-redis');
    const node = `${queue}@test`;
    const app = new Celeriac({ broker, defaultQueue: queue });
    app.task('h9.add', (x: number, y: number) => x + y);
    const monitor = new Celeriac({ broker });
    const log = new EventLog(monitor, node);
    let output = '';
    dump = spawn('/usr/bin/python3', ['-m', 'celery', '-A', 'py_events_app', 'events', '--dump'], {
      cwd: HERE,
      env: { ...process.env, CELERIAC_TEST_BROKER: broker, PYTHONUNBUFFERED: '1' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    dump.stdout!.on('data', (d: Buffer) => (output += d.toString()));
    dump.stderr!.on('data', (d: Buffer) => (output += d.toString()));
    const worker = new Worker(app, { queues: [queue], hostname: node, sendEvents: true });
    const events = await attachEvents(worker, { heartbeatIntervalMs: 300 });
    try {
      await log.receiver.start();
      await worker.start();
      // Python subscribes some time after it prints its banner: wait for it to hear a heartbeat.
      await waitFor(() => output.includes(`${node} [`), 20_000, `our heartbeat in: ${output}`);
      const result = await app.sendTask('h9.add', [1, 2]);
      const [succeeded] = await log.wait('task-succeeded', result.id);
      expect(succeeded).toMatchObject({ result: '3', hostname: node });
      expect(log.messages.find((m) => m.routingKey.startsWith('task.'))?.routingKey).toBe('task.multi');
      await waitFor(
        () => output.includes(`task succeeded: h9.add(${result.id}) args=(1, 2) kwargs={} `),
        10_000,
        `task succeeded in: ${output}`,
      );
      expect(output).not.toMatch(/Traceback/);
    } finally {
      await worker.stop();
      await events.stop();
      await log.receiver.stop();
      await monitor.close();
      await (await app.connection()).deleteQueue(queue).catch(() => undefined);
      await app.close();
    }
  }, 40_000);
});
