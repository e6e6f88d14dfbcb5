import { fileURLToPath } from 'node:url';
import { Redis } from 'ioredis';
import { afterAll, afterEach, expect, it } from 'vitest';
import { Celeriac } from '../../src/index.ts';
import { describeWith, SERVICES, uniqueName } from '../helpers/services.ts';
import { startWorker, stopAll } from '../worker/helpers.ts';
import { registerChildTasks } from './fixtures/children-app.ts';

/**
 * A task that sends from its body in a pool thread or child (its own app instance there): the
 * message carries the request as parent and root, and the main thread stores it in `children`.
 */
const appModule = fileURLToPath(new URL('./fixtures/children-app.ts', import.meta.url));
const DB = 12;

await describeWith(
  ['redis'],
  'canvas: tasks sent from a task body in the threads and processes pools',
  () => {
    const apps: Celeriac[] = [];
    const queues: string[] = [];
    afterEach(async () => {
      await stopAll();
      await Promise.all(apps.splice(0).map((a) => a.close()));
    });
    afterAll(async () => {
      delete process.env.CELERIAC_KIDS_BROKER;
      delete process.env.CELERIAC_KIDS_BACKEND;
      delete process.env.CELERIAC_KIDS_QUEUE;
      const redis = new Redis(`${SERVICES.redis.url}/${DB}`);
      await redis.del(...queues, ...queues.map((q) => `_kombu.binding.${q}`));
      redis.disconnect();
    });

    for (const pool of ['threads', 'processes'] as const) {
      it(`${pool}: the child gets parent_id/root_id and is listed in the stored children`, async () => {
        const queue = uniqueName(`kids-${pool}`);
        queues.push(queue);
        const config = {
          broker: `${SERVICES.redis.url}/${DB}`,
          backend: `${SERVICES.redis.url}/${DB}`,
          defaultQueue: queue,
        };
        // The pool's threads and children read these when they load the fixture module.
        process.env.CELERIAC_KIDS_BROKER = config.broker;
        process.env.CELERIAC_KIDS_BACKEND = config.backend;
        process.env.CELERIAC_KIDS_QUEUE = queue;
        const app = new Celeriac(config);
        apps.push(app);
        const { spawn } = registerChildTasks(app);
        await startWorker(app, { pool, appModule, concurrency: 2, queues: [queue] });
        const parent = await spawn.delay();
        const childId = (await parent.get({ timeout: 20_000 })) as string;
        const child = await app.AsyncResult(childId).get({ timeout: 20_000 });
        expect(child).toEqual({ x: 1, parentId: parent.id, rootId: parent.id });
        expect((await parent.meta()).children).toEqual([[[childId, null], null]]);
      });
    }
  },
);
