/**
 * Celeriac beat sends the seed's periodic task (`tasks.add` with (14, 15)) over RabbitMQ to a
 * real Python Celery 5.2 worker, and reads each result back from Redis.
 */
import { afterAll, beforeAll, expect, it } from 'vitest';
import { Celeriac } from '../../src/app/celeriac.ts';
import { Beat } from '../../src/beat/beat.ts';
import { ConfigFileStore } from '../../src/beat/stores/config-file-store.ts';
import { deleteQueues, deleteResults } from '../../../../test/interop/cleanup.ts';
import {
  AMQP_URL,
  describeInterop,
  PythonWorker,
  quietly,
  REDIS_URL,
  uniqueName,
} from '../../../../test/interop/harness.ts';

const REDIS_DB = 11;

await describeInterop('Celeriac beat -> Python Celery worker', () => {
  const queue = uniqueName('beat-interop');
  const ids: string[] = [];
  let worker: PythonWorker | undefined;
  let app: Celeriac;

  beforeAll(async () => {
    worker = await PythonWorker.start({
      name: queue,
      queue,
      backend: `${REDIS_URL}/${REDIS_DB}`,
      concurrency: 1,
    });
    app = new Celeriac({ broker: AMQP_URL, backend: `${REDIS_URL}/${REDIS_DB}` });
  }, 60_000);

  afterAll(async () => {
    await quietly(() => worker?.stop());
    await quietly(() => app?.close());
    await quietly(() => deleteQueues([queue]));
    await quietly(() => deleteResults(REDIS_DB, ids));
  });

  it('every second, each run executed by Python with the entry’s arguments', async () => {
    const send = app.sendTask.bind(app);
    app.sendTask = (async (...args: Parameters<Celeriac['sendTask']>) => {
      const result = await send(...args);
      ids.push(result.id);
      return result;
    }) as Celeriac['sendTask'];
    const beat = new Beat(app, {
      store: new ConfigFileStore({
        entries: {
          scheduled_task: {
            task: 'tasks.add',
            schedule: { every: '1s' },
            args: [14, 15],
            queue,
            expires: 60,
          },
        },
      }),
    });
    await beat.start();
    const deadline = Date.now() + 15_000;
    while (ids.length < 3 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
    await beat.stop();
    expect(ids.length).toBeGreaterThanOrEqual(3);
    for (const id of ids) expect(await app.AsyncResult<number>(id).get({ timeout: 30_000 })).toBe(29);
  }, 60_000);
});
