// Warm and cold shutdown with the threads and processes pools (the async pool's are in
// lifecycle.test.ts). Apart from pool-suite.ts so each file stays short.
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { MemoryTransport } from '../../src/transports/memory/memory-transport.ts';
import { registerTasks } from './fixtures/thread-tasks.ts';
import { memoryApp, startWorker, stopAll, waitFor } from './helpers.ts';

const appModule = fileURLToPath(new URL('./fixtures/thread-tasks.ts', import.meta.url));

describe.each(['threads', 'processes'] as const)('%s pool shutdown', (pool) => {
  const unit = pool === 'threads' ? 'thread' : 'process';
  afterAll(stopAll);

  it(`warm lets the ${unit} finish its task and gives back what waits`, async () => {
    const app = memoryApp({ shutdownGrace: '10s' });
    const tasks = registerTasks(app);
    const worker = await startWorker(app, { pool, appModule, concurrency: 1 });
    const finishing = await tasks.burn.delay(800);
    await tasks.add.delay(1, 2); // not started: given back to the broker
    await waitFor(
      () => worker.active().length === 1 && worker.reserved().length === 1,
      15_000,
      'one running, one waiting',
    );
    await worker.stop();
    expect(await app.AsyncResult(finishing.id).state).toBe('SUCCESS');
    expect(await new MemoryTransport(app.conf.broker).queueLength('celery')).toBe(1);
  }, 25_000);

  it(`cold ends the ${unit} running \`while (true) {}\` and gives its acksLate message back`, async () => {
    const app = memoryApp({ shutdownGrace: '30s', acksLate: true });
    const tasks = registerTasks(app);
    const worker = await startWorker(app, { pool, appModule, concurrency: 1 });
    const spinning = await tasks.spin.delay();
    await waitFor(() => worker.active().length === 1, 15_000, 'the spin task to start');
    const t0 = Date.now();
    await worker.stop({ graceful: false });
    // The task never reads its signal: the ${unit} is ended, not waited for (30 s grace).
    expect(Date.now() - t0).toBeLessThan(10_000);
    expect(await app.AsyncResult(spinning.id).state).toBe('PENDING');
    expect(await new MemoryTransport(app.conf.broker).queueLength('celery')).toBe(1);
  }, 25_000);
});
