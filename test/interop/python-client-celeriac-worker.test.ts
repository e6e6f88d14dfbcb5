/**
 * Direction 2: a real Python Celery 5.2 client sends tasks that a Celeriac worker runs, and
 * Python's own `AsyncResult.get()` reads the outcome through Redis and through rpc:// (the
 * Celeriac worker replies to the Python client's reply queue). Failures must come back as
 * exceptions Python can catch by name (celery/backends/base.py `exception_to_python`).
 */
import { afterAll, beforeAll, expect, it } from 'vitest';
import { Celeriac } from 'celeriac';
import { Worker } from '../../packages/celeriac/src/worker/worker.ts';
import { deleteQueues, deleteResults } from './cleanup.ts';
import { AMQP_URL, describeInterop, PythonClient, quietly, REDIS_URL, uniqueName } from './harness.ts';

const REDIS_DB = 10;
const redisBackend = `${REDIS_URL}/${REDIS_DB}`;

/** A user-defined error: Python has no such class, so it synthesizes one with this name. */
class QuotaExceeded extends Error {
  override name = 'QuotaExceeded';
}

interface Outcome {
  id: string;
  state: string;
  value?: unknown;
  raised: string | null;
  module?: string;
  message?: string;
  args?: unknown[];
  is_value_error?: boolean;
}

function registerTasks(app: Celeriac): void {
  app.task('tasks.add', (x: number, y: number) => x + y, { params: ['x', 'y'] });
  app.task(
    'celeriac.too_big',
    (n: number) => {
      throw new RangeError(`too big: ${n}`);
    },
    { params: ['n'] },
  );
  app.task('celeriac.quota', () => {
    throw new QuotaExceeded('over quota: 3 of 2');
  });
}

await describeInterop('Python Celery client -> Celeriac worker', () => {
  const redisQueue = uniqueName('interop-b-redis');
  const rpcQueue = uniqueName('interop-b-rpc');
  const resultIds: string[] = [];
  let redisApp: Celeriac;
  let rpcApp: Celeriac;
  let redisWorker: Worker | undefined;
  let rpcWorker: Worker | undefined;
  let pyRedis: PythonClient | undefined;
  let pyRpc: PythonClient | undefined;

  beforeAll(async () => {
    redisApp = new Celeriac({ broker: AMQP_URL, backend: redisBackend, defaultQueue: redisQueue });
    rpcApp = new Celeriac({ broker: AMQP_URL, backend: 'rpc://', defaultQueue: rpcQueue });
    registerTasks(redisApp);
    registerTasks(rpcApp);
    redisWorker = new Worker(redisApp, {
      queues: [redisQueue],
      concurrency: 4,
      hostname: `${redisQueue}@interop`,
    });
    rpcWorker = new Worker(rpcApp, { queues: [rpcQueue], concurrency: 4, hostname: `${rpcQueue}@interop` });
    [pyRedis, pyRpc] = await Promise.all([
      PythonClient.start({ queue: redisQueue, backend: redisBackend }),
      PythonClient.start({ queue: rpcQueue, backend: 'rpc://' }),
      redisWorker.start(),
      rpcWorker.start(),
    ]);
  });

  afterAll(async () => {
    await Promise.all([quietly(() => pyRedis?.close()), quietly(() => pyRpc?.close())]);
    await Promise.all([quietly(() => redisWorker?.stop()), quietly(() => rpcWorker?.stop())]);
    await quietly(() => redisApp?.close());
    await quietly(() => rpcApp?.close());
    await quietly(() => deleteQueues([redisQueue, rpcQueue]));
    await quietly(() => deleteResults(REDIS_DB, resultIds));
  });

  async function run(py: PythonClient | undefined, send: string): Promise<Outcome> {
    const outcome = await py!.run<Outcome>(`outcome(${send}, timeout=10)`, 20_000);
    resultIds.push(outcome.id);
    return outcome;
  }

  for (const backend of ['redis', 'rpc'] as const) {
    const client = () => (backend === 'redis' ? pyRedis : pyRpc);

    it(`app.send_task('tasks.add', args=[2, 2]) returns 4 through ${backend}`, async () => {
      expect(await run(client(), "app.send_task('tasks.add', args=[2, 2])")).toMatchObject({
        state: 'SUCCESS',
        value: 4,
        raised: null,
      });
    });

    it(`add.delay(2, 2) and add.delay(x=2, y=3) on the Python stub return 4 and 5 through ${backend}`, async () => {
      expect(await run(client(), 'add.delay(2, 2)')).toMatchObject({ state: 'SUCCESS', value: 4 });
      // Keyword arguments map onto the Celeriac function through its declared params.
      expect(await run(client(), 'add.delay(x=2, y=3)')).toMatchObject({ state: 'SUCCESS', value: 5 });
      expect(await run(client(), 'add.apply_async(args=[2], kwargs={"y": 40})')).toMatchObject({ value: 42 });
    });

    it(`a thrown RangeError raises ValueError in Python through ${backend}`, async () => {
      const outcome = await run(client(), "app.send_task('celeriac.too_big', args=[1000])");
      expect(outcome).toMatchObject({
        state: 'FAILURE',
        raised: 'ValueError',
        message: 'too big: 1000',
        is_value_error: true,
      });
    });

    it(`a custom-named error raises a class of that name in Python through ${backend}`, async () => {
      const outcome = await run(client(), "app.send_task('celeriac.quota')");
      expect(outcome).toMatchObject({
        state: 'FAILURE',
        raised: 'QuotaExceeded',
        message: 'over quota: 3 of 2',
      });
    });
  }

  it('a keyword the Celeriac task does not declare raises TypeError in Python, as a Python task would', async () => {
    const outcome = await run(pyRedis, "app.send_task('tasks.add', kwargs={'x': 1, 'z': 2})");
    expect(outcome).toMatchObject({ state: 'FAILURE', raised: 'TypeError', module: 'builtins' });
    expect(outcome.message).toContain("unexpected keyword argument 'z'");
  });

  it('an unknown task name from Python is stored as FAILURE NotRegistered, and the worker goes on', async () => {
    const name = `tasks.${uniqueName('nope').replace(/-/g, '_')}`;
    const outcome = await run(pyRedis, `app.send_task(${JSON.stringify(name)}, args=[1])`);
    expect(outcome).toMatchObject({ state: 'FAILURE', raised: 'NotRegistered' });
    expect(outcome.args?.[0]).toBe(name);
    // What Python's backend stored, read without raising (celery/result.py AsyncResult.result).
    const stored = await pyRedis!.run<{ status: string; exc_type: string }>(
      `r = app.AsyncResult(${JSON.stringify(outcome.id)}); result = {'status': r.status, 'exc_type': type(r.result).__name__}`,
    );
    expect(stored).toEqual({ status: 'FAILURE', exc_type: 'NotRegistered' });
    expect(await run(pyRedis, 'add.delay(1, 1)')).toMatchObject({ value: 2 });
  });
});
