/**
 * Direction 1: a Celeriac client sends tasks that a real Python Celery 5.2 worker runs, and reads
 * the results through the Redis backend and through rpc:// (reply queue named after our oid).
 * One Python worker per backend, because a Celery app has one result backend.
 */
import { afterAll, beforeAll, expect, it } from 'vitest';
import { Celeriac, TaskError } from 'celeriac';
import { deleteQueues, deleteResults } from './cleanup.ts';
import {
  AMQP_URL,
  describeInterop,
  PythonClient,
  PythonWorker,
  quietly,
  REDIS_URL,
  uniqueName,
} from './harness.ts';

const REDIS_DB = 10;
const redisBackend = `${REDIS_URL}/${REDIS_DB}`;

const EXPECTED_FAILURE_LOG =
  /ERROR\/ForkPoolWorker-\d+\] Task tasks\.fail\[[0-9a-f-]+\] raised unexpected: (ValueError\('bad'\)|ExceptionWithTraceback\(\))$/;

interface EchoedRequest {
  args: unknown[];
  kwargs: Record<string, unknown>;
  retries: number;
  eta: string | null;
  root_id: string;
  reply_to: string;
  correlation_id: string;
  origin: string;
  ran_at: number;
}

await describeInterop('Celeriac client -> Python Celery worker', () => {
  const redisQueue = uniqueName('interop-a-redis');
  const rpcQueue = uniqueName('interop-a-rpc');
  const sentIds: string[] = [];
  let redisWorker: PythonWorker | undefined;
  let rpcWorker: PythonWorker | undefined;
  let redisApp: Celeriac;
  let rpcApp: Celeriac;

  beforeAll(async () => {
    [redisWorker, rpcWorker] = await Promise.all([
      PythonWorker.start({ name: redisQueue, queue: redisQueue, backend: redisBackend }),
      PythonWorker.start({ name: rpcQueue, queue: rpcQueue, backend: 'rpc://' }),
    ]);
    redisApp = new Celeriac({ broker: AMQP_URL, backend: redisBackend, defaultQueue: redisQueue });
    rpcApp = new Celeriac({ broker: AMQP_URL, backend: 'rpc://', defaultQueue: rpcQueue });
  });

  afterAll(async () => {
    await quietly(() => redisApp?.close());
    await quietly(() => rpcApp?.close());
    await Promise.all([quietly(() => redisWorker?.stop()), quietly(() => rpcWorker?.stop())]);
    await quietly(() => deleteQueues([redisQueue, rpcQueue]));
    await quietly(() => deleteResults(REDIS_DB, sentIds));
  });

  async function send(
    app: Celeriac,
    name: string,
    args: unknown[],
    kwargs?: Record<string, unknown>,
    countdown?: number,
  ) {
    const result = await app.sendTask(name, args, kwargs, countdown === undefined ? {} : { countdown });
    sentIds.push(result.id);
    return result;
  }

  it('baseline: the Python client and worker of this file work on their own', async () => {
    // If this fails, the fault is in the Python peer or the harness, not in Celeriac.
    const py = await PythonClient.start({ queue: redisQueue, backend: redisBackend });
    try {
      const outcome = await py.run<{ id: string; value: unknown }>('outcome(add.delay(40, 2))');
      sentIds.push(outcome.id);
      expect(outcome.value).toBe(42);
    } finally {
      await py.close();
    }
  });

  it('tasks.add(2, 2) returns 4 through the Redis backend', async () => {
    const result = await send(redisApp, 'tasks.add', [2, 2]);
    expect(await result.get({ timeout: 10_000 })).toBe(4);
    // The log comes through a pipe and may trail the result by a moment.
    await redisWorker!.waitForLog(`Task tasks.add[${result.id}] received`, 5_000);
  });

  it('tasks.add(2, 2) returns 4 through rpc://', async () => {
    const result = await send(rpcApp, 'tasks.add', [2, 2]);
    expect(await result.get({ timeout: 10_000 })).toBe(4);
    // The log comes through a pipe and may trail the result by a moment.
    await rpcWorker!.waitForLog(`Task tasks.add[${result.id}] received`, 5_000);
  });

  it('kwargs {x: 2, y: 3} reach the Python function by name, on both backends', async () => {
    const viaRedis = await send(redisApp, 'tasks.add', [], { x: 2, y: 3 });
    const viaRpc = await send(rpcApp, 'tasks.add', [], { x: 2, y: 3 });
    expect(await viaRedis.get({ timeout: 10_000 })).toBe(5);
    expect(await viaRpc.get({ timeout: 10_000 })).toBe(5);
  });

  it('the Python worker sees our ids, reply_to, origin and empty retries', async () => {
    const result = await send(redisApp, 'tasks.echo_request', [1, 'two'], { three: 3 });
    const echoed = (await result.get({ timeout: 10_000 })) as EchoedRequest;
    expect(echoed).toMatchObject({
      args: [1, 'two'],
      kwargs: { three: 3 },
      retries: 0,
      eta: null,
      root_id: result.id,
      correlation_id: result.id,
      reply_to: redisApp.oid,
      origin: redisApp.origin,
    });
  });

  it('a countdown of 2 s runs no earlier than 2 s after sending', async () => {
    const sentAt = Date.now();
    const result = await send(redisApp, 'tasks.echo_request', [], {}, 2);
    const echoed = (await result.get({ timeout: 15_000 })) as EchoedRequest;
    expect(echoed.eta).toEqual(expect.any(String));
    const etaMs = Date.parse(echoed.eta!);
    expect(etaMs).toBeGreaterThanOrEqual(sentAt + 2000);
    expect(etaMs).toBeLessThan(sentAt + 3000);
    // Python's timer may wake a few ms early on a busy box; it must not run a whole tick early.
    expect(echoed.ran_at * 1000).toBeGreaterThanOrEqual(sentAt + 2000 - 20);
    expect(echoed.ran_at * 1000).toBeLessThan(sentAt + 10_000);
  });

  it("a Python ValueError('bad') is a TaskError with excType ValueError, on both backends", async () => {
    for (const [app, worker] of [
      [redisApp, redisWorker!],
      [rpcApp, rpcWorker!],
    ] as const) {
      const result = await send(app, 'tasks.fail', []);
      const error = await result.get({ timeout: 10_000 }).then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(error).toBeInstanceOf(TaskError);
      expect(error).toMatchObject({ taskId: result.id, excType: 'ValueError', excMessage: ['bad'] });
      expect((error as TaskError).remoteTraceback).toContain('ValueError');
      expect(await result.state).toBe('FAILURE');
      // The last message each worker gets: once it is logged, the log check below sees everything.
      await worker.waitForLog(`Task tasks.fail[${result.id}] raised`, 5_000);
    }
  });

  it('the Python workers logged no warning or error about our messages', () => {
    for (const worker of [redisWorker!, rpcWorker!]) {
      const afterReady = worker.log().split(/ ready\.\s*\n/)[1] ?? '';
      const complaints = afterReady
        .split('\n')
        .filter((line) => /WARNING\/|CRITICAL\/|ERROR\//.test(line))
        // tasks.fail raises on purpose (billiard 3.6 logs it wrapped as ExceptionWithTraceback, with or
        // without Celeriac: see the baseline); everything else is a complaint.
        .filter((line) => !EXPECTED_FAILURE_LOG.test(line));
      expect(complaints).toEqual([]);
      expect(afterReady).not.toMatch(/invalid task message|Discarding|KeyError|missing/i);
      expect(afterReady).toContain('succeeded in');
    }
  });
});
