/**
 * Retries understood by the other side (protocol reference §5.4, celery/app/task.py `retry`):
 * the retry is the same task id republished with `retries + 1` and an `eta`. Here a retry
 * produced by one side is run by the other, and neither runs it before its eta.
 */
import { afterAll, beforeAll, expect, it } from 'vitest';
import { Celeriac } from 'celeriac';
import type { TaskContext } from 'celeriac';
import { Worker } from '../../packages/celeriac/src/worker/worker.ts';
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

interface RetryReport {
  ran_by: 'python' | 'celeriac';
  retries: number;
  eta: string | null;
  started_at: number | null;
  ran_at: number;
}

await describeInterop('retries across Python Celery and Celeriac', () => {
  const celeriacQueue = uniqueName('interop-c-ts');
  const pythonQueue = uniqueName('interop-c-py');
  const resultIds: string[] = [];
  let app: Celeriac;
  let worker: Worker | undefined;
  let pyWorker: PythonWorker | undefined;
  let py: PythonClient | undefined;

  const report = (ctx: TaskContext, startedAt: number | null): RetryReport => ({
    ran_by: 'celeriac',
    retries: ctx.retries,
    eta: ctx.eta,
    started_at: startedAt,
    ran_at: Date.now() / 1000,
  });

  beforeAll(async () => {
    // resultExtended stores `retries` with the result, which Python reads as AsyncResult.retries.
    app = new Celeriac({
      broker: AMQP_URL,
      backend: redisBackend,
      defaultQueue: celeriacQueue,
      resultExtended: true,
    });

    // Retried once by Celeriac on its own queue, called from Python.
    app.task(
      'celeriac.retry_once',
      async (ctx: TaskContext, x: number) => {
        if (ctx.retries === 0) await ctx.retry({ countdown: 1 });
        return { x, ...report(ctx, null) };
      },
      { bind: true, params: ['x'], maxRetries: 3 },
    );
    // Python's tasks.retry_elsewhere retries onto celeriacQueue; this runs that retry.
    app.task(
      'tasks.retry_elsewhere',
      (ctx: TaskContext, startedAt: number | null = null) => report(ctx, startedAt),
      {
        bind: true,
        params: ['started_at'],
      },
    );
    // The reverse: the first run here retries onto pythonQueue, where Python's tasks.report_retry runs it.
    app.task(
      'tasks.report_retry',
      async (ctx: TaskContext, startedAt: number | null = null) => {
        if (ctx.retries === 0)
          await ctx.retry({ countdown: 1, queue: pythonQueue, kwargs: { started_at: Date.now() / 1000 } });
        return report(ctx, startedAt);
      },
      { bind: true, params: ['started_at'], maxRetries: 3 },
    );

    worker = new Worker(app, {
      queues: [celeriacQueue],
      concurrency: 4,
      hostname: `${celeriacQueue}@interop`,
    });
    [pyWorker, py] = await Promise.all([
      PythonWorker.start({
        name: pythonQueue,
        queue: pythonQueue,
        backend: redisBackend,
        retryQueue: celeriacQueue,
      }),
      PythonClient.start({ queue: celeriacQueue, backend: redisBackend }),
      worker.start(),
    ]);
  });

  afterAll(async () => {
    await quietly(() => py?.close());
    await Promise.all([quietly(() => worker?.stop()), quietly(() => pyWorker?.stop())]);
    await quietly(() => app?.close());
    await quietly(() => deleteQueues([celeriacQueue, pythonQueue]));
    await quietly(() => deleteResults(REDIS_DB, resultIds));
  });

  it('a Celeriac task retried with countdown 1 s, called from Python: RETRY, then SUCCESS with retries=1', async () => {
    const watched = await py!.run<{
      id: string;
      states: string[];
      state: string;
      value: RetryReport & { x: number };
    }>(
      "r = app.send_task('celeriac.retry_once', args=[7]); t0 = time.time(); " +
        "w = watch_states(r, timeout=15); result = {**w, 'elapsed': time.time() - t0, 'py_retries': r.retries}",
      25_000,
    );
    resultIds.push(watched.id);
    expect(watched.state).toBe('SUCCESS');
    expect(watched.value).toMatchObject({ x: 7, ran_by: 'celeriac', retries: 1 });
    // The RETRY state lasts the 1 s countdown, so a 50 ms poll sees it.
    expect(watched.states).toContain('RETRY');
    expect(watched.states.at(-1)).toBe('SUCCESS');
    const eta = Date.parse(watched.value.eta!);
    expect(watched.value.ran_at * 1000).toBeGreaterThanOrEqual(eta - 20);
    expect((watched as unknown as { elapsed: number }).elapsed).toBeGreaterThanOrEqual(0.95);
    // With result_extended, Python reads the retry count from the stored meta.
    expect((watched as unknown as { py_retries: number | null }).py_retries).toBe(1);
  });

  it("Python's self.retry(countdown=2, queue=<Celeriac's queue>) is run by the Celeriac worker at its eta", async () => {
    const result = await app.sendTask<RetryReport>('tasks.retry_elsewhere', [], {}, { queue: pythonQueue });
    resultIds.push(result.id);
    const report = await result.get({ timeout: 15_000 });
    expect(report).toMatchObject({ ran_by: 'celeriac', retries: 1 });
    expect(report.started_at, 'the retry carried the kwargs Python gave it').toEqual(expect.any(Number));
    expect(report.eta).toEqual(expect.any(String));
    const etaMs = Date.parse(report.eta!);
    expect(etaMs - report.started_at! * 1000).toBeGreaterThanOrEqual(1900);
    expect(etaMs - report.started_at! * 1000).toBeLessThan(3000);
    expect(report.ran_at * 1000, 'not run before its eta').toBeGreaterThanOrEqual(etaMs - 20);
    expect(pyWorker!.log()).toMatch(
      new RegExp(`Task tasks\\.retry_elsewhere\\[${result.id}\\] retry: Retry in 2s`),
    );
  });

  it("Celeriac's ctx.retry({ countdown: 1, queue: <Python's queue> }) is run by the Python worker at its eta", async () => {
    const result = await app.sendTask<RetryReport>('tasks.report_retry', [], {});
    resultIds.push(result.id);
    const report = await result.get({ timeout: 15_000 });
    expect(report).toMatchObject({ ran_by: 'python', retries: 1 });
    expect(report.started_at).toEqual(expect.any(Number));
    expect(report.eta).toEqual(expect.any(String));
    const etaMs = Date.parse(report.eta!);
    expect(etaMs - report.started_at! * 1000).toBeGreaterThanOrEqual(900);
    expect(etaMs - report.started_at! * 1000).toBeLessThan(2000);
    expect(report.ran_at * 1000, 'not run before its eta').toBeGreaterThanOrEqual(etaMs - 20);
    await pyWorker!.waitForLog(`Task tasks.report_retry[${result.id}] received`, 5_000);
  });

  it('the Python worker took the retry message Celeriac built without a warning or error', () => {
    const afterReady = pyWorker!.log().split(/ ready\.\s*\n/)[1] ?? '';
    expect(afterReady).toContain('Task tasks.report_retry[');
    expect(afterReady.split('\n').filter((line) => /WARNING\/|ERROR\/|CRITICAL\//.test(line))).toEqual([]);
  });
});
