/**
 * The one suite every ResultBackend runs (hono's `runTest` style): a new backend is one line of test.
 *
 * @example
 * runBackendConformance('redis', (role) => new RedisBackend(url, options));
 *
 * Each test makes a `client` (sends tasks, reads, waits) and a `worker` (stores) from the factory,
 * as two processes would, and closes both afterwards. Capability flags skip what a backend cannot do:
 * a `clientBound` backend (rpc://) is read only through the client the task was sent from, and its
 * replies arrive asynchronously, so reads of a stored state are retried briefly.
 */
import { afterEach, describe, expect, it } from 'vitest';
import type { ResultBackend, StoreContext } from '../src/backends/backend.ts';
import { ResultEncodeError } from '../src/backends/errors.ts';
import { ResultTimeoutError } from '../src/backends/waiters.ts';
import { utcNowIso, type ResultMeta } from '../src/result/meta.ts';
import { States, type TaskState } from '../src/result/states.ts';
import { uuid } from '../src/util/ids.ts';

export type BackendRole = 'client' | 'worker';

export interface ConformanceOptions {
  /** The context the worker side stores with; rpc:// needs the client's reply queue. (Default: {}) */
  contextFor?: (client: ResultBackend) => StoreContext;
  /** Results expire after `expiresSeconds` (rpc:// keeps them in the client until read). (Default: true) */
  expiry?: boolean;
  /** The whole meta is kept: date_done, group_id, parent_id, extended fields. (Default: !clientBound) */
  fullMeta?: boolean;
  /** How soon after store() resolves a waiter must wake, in ms. (Default: 50) */
  wakeWithinMs?: number;
}

/** What a backend must do; see the file comment. */
export function runBackendConformance(
  label: string,
  makeBackend: (role: BackendRole) => ResultBackend | Promise<ResultBackend>,
  options: ConformanceOptions = {},
): void {
  describe(`ResultBackend conformance: ${label}`, () => {
    const opened: ResultBackend[] = [];
    const storedIds = new Set<string>();
    afterEach(async () => {
      await Promise.all(opened.splice(0).map((b) => b.close()));
      // Leave nothing behind in a shared Redis or database.
      const cleaner = await makeBackend('worker');
      await cleaner.connect();
      await Promise.all([...storedIds].map((id) => cleaner.forget(id)));
      storedIds.clear();
      await cleaner.close();
    });

    /** A client and a worker; `send` does what the app does before publishing a task. */
    async function pair() {
      const client = await makeBackend('client');
      opened.push(client);
      await client.connect();
      const worker = await makeBackend('worker');
      opened.push(worker);
      await worker.connect();
      const context = options.contextFor?.(client) ?? {};
      const fullMeta = options.fullMeta ?? !client.capabilities.clientBound;
      const send = async () => {
        const id = uuid();
        await client.onTaskSent?.(id);
        return id;
      };
      const store = (meta: ResultMeta, extra: StoreContext = {}) => {
        storedIds.add(meta.task_id);
        return worker.store(meta, { ...context, ...extra });
      };
      /** Reads until the state shows up (rpc replies travel asynchronously), at most 2 s. */
      const readBack = async (id: string, status: TaskState) => {
        const deadline = Date.now() + 2000;
        let meta = await client.get(id);
        while (meta.status !== status && Date.now() < deadline) {
          await sleep(5);
          meta = await client.get(id);
        }
        return meta;
      };
      return { client, worker, send, store, readBack, fullMeta };
    }

    it('answers PENDING for an id it has never seen', async () => {
      const { client } = await pair();
      const id = uuid();
      const meta = await client.get(id);
      expect(meta).toMatchObject({
        task_id: id,
        status: 'PENDING',
        result: null,
        traceback: null,
        children: [],
      });
      expect(meta.date_done ?? null).toBeNull();
    });

    it('stores and reads back every state', async () => {
      const { send, store, readBack, fullMeta } = await pair();
      const error = { exc_type: 'KeyError', exc_message: ['missing'], exc_module: 'builtins' };
      const cases: [TaskState, unknown, boolean][] = [
        [States.STARTED, { pid: 815, hostname: 'celery@w1' }, false],
        [States.RETRY, error, false],
        ['PROGRESS', { done: 3, total: 10 }, false],
        [States.SUCCESS, { nested: [1, 'two', null, { three: 3.5 }], unicode: 'é ✓' }, true],
        [States.FAILURE, error, true],
        [
          States.REVOKED,
          { exc_type: 'TaskRevokedError', exc_message: ['revoked'], exc_module: 'celery.exceptions' },
          true,
        ],
      ];
      for (const [status, result, ready] of cases) {
        const id = await send();
        const written = metaFor(id, status, result, { date_done: ready ? utcNowIso() : null });
        await store(written);
        const read = await readBack(id, status);
        expect(read, status).toMatchObject({ task_id: id, status, result, traceback: null, children: [] });
        if (fullMeta) expect(read.date_done, status).toBe(written.date_done);
      }
    });

    it('keeps group_id, parent_id and result_extended fields', async (ctx) => {
      const { send, store, readBack, fullMeta } = await pair();
      if (!fullMeta) return ctx.skip();
      const id = await send();
      const extended = {
        group_id: uuid(),
        parent_id: uuid(),
        name: 'tasks.add',
        args: [2, 2],
        kwargs: { z: 1 },
        worker: 'celery@w1',
        retries: 1,
        queue: 'celery',
        children: [[[uuid(), null], null]],
      };
      await store(metaFor(id, States.SUCCESS, 4, extended));
      expect(await readBack(id, States.SUCCESS)).toMatchObject(extended);
    });

    it('keeps SUCCESS sticky: a later state for the same id is not written', async () => {
      const { client, send, store, readBack } = await pair();
      const id = await send();
      await store(metaFor(id, States.SUCCESS, 'first'));
      await readBack(id, States.SUCCESS);
      await store(
        metaFor(id, States.FAILURE, {
          exc_type: 'ValueError',
          exc_message: ['late'],
          exc_module: 'builtins',
        }),
      );
      await store(metaFor(id, States.STARTED, null, { date_done: null }));
      await store(metaFor(id, States.SUCCESS, 'second'));
      await sleep(30); // let any (wrong) reply arrive
      expect(await client.get(id)).toMatchObject({ status: 'SUCCESS', result: 'first' });
    });

    it('lets a later state replace anything but SUCCESS (RETRY, then SUCCESS)', async () => {
      const { send, store, readBack } = await pair();
      const id = await send();
      await store(
        metaFor(id, States.RETRY, { exc_type: 'IOError', exc_message: ['later'], exc_module: 'builtins' }),
      );
      await readBack(id, States.RETRY);
      await store(metaFor(id, States.SUCCESS, 42));
      expect(await readBack(id, States.SUCCESS)).toMatchObject({ status: 'SUCCESS', result: 42 });
    });

    it('round-trips an exception with its traceback', async () => {
      const { client, send, store } = await pair();
      const id = await send();
      const exc = { exc_type: 'ValueError', exc_message: ['bad', 7], exc_module: 'builtins' };
      const traceback = 'Traceback (most recent call last):\n  File "x.py", line 1\nValueError: bad';
      await store(metaFor(id, States.FAILURE, exc, { traceback }));
      const read = await client.waitReady(id, { timeoutMs: 2000 });
      expect(read).toMatchObject({ status: 'FAILURE', result: exc, traceback });
    });

    it('wakes a waiter promptly when the result is stored (no polling)', async () => {
      const { client, send, store } = await pair();
      const wakeWithinMs = options.wakeWithinMs ?? 50;
      const delays: number[] = [];
      // The median of five keeps a busy CI box's hiccup from failing the test, while a polling
      // backend (wake at a random point of its interval) cannot pass it.
      for (let round = 0; round < 5; round++) {
        const id = await send();
        let wokeAt = 0;
        const waiting = client.waitReady(id, { timeoutMs: 5000 }).then((meta) => {
          wokeAt = performance.now();
          return meta;
        });
        await sleep(round === 0 ? 100 : 20); // the waiter is listening now
        if (round === 0) {
          // A state that is not ready must not wake it.
          await store(metaFor(id, States.STARTED, { pid: 1, hostname: 'w' }, { date_done: null }));
          await sleep(30);
          expect(wokeAt).toBe(0);
        }
        const storedAt = performance.now();
        await store(metaFor(id, States.SUCCESS, round));
        expect(await waiting).toMatchObject({ task_id: id, status: 'SUCCESS', result: round });
        delays.push(wokeAt - storedAt);
      }
      delays.sort((a, b) => a - b);
      expect(delays[2], `wake delays ${delays.map((d) => d.toFixed(1)).join(', ')} ms`).toBeLessThan(
        wakeWithinMs,
      );
    });

    it('resolves at once for a result stored before the wait began', async () => {
      const { client, send, store } = await pair();
      const id = await send();
      await store(metaFor(id, States.SUCCESS, [1, 2]));
      await sleep(20);
      const started = performance.now();
      expect(await client.waitReady(id, { timeoutMs: 2000 })).toMatchObject({
        status: 'SUCCESS',
        result: [1, 2],
      });
      expect(performance.now() - started).toBeLessThan(500);
      // And again: a second wait on the same finished task.
      expect(await client.waitReady(id, { timeoutMs: 2000 })).toMatchObject({
        status: 'SUCCESS',
        result: [1, 2],
      });
    });

    it('rejects with a ResultTimeoutError after timeoutMs', async () => {
      const { client, send } = await pair();
      const id = await send();
      const started = performance.now();
      const error = await client.waitReady(id, { timeoutMs: 150 }).catch((e: unknown) => e);
      const elapsed = performance.now() - started;
      expect(error).toBeInstanceOf(ResultTimeoutError);
      expect(error).toMatchObject({ code: 'RESULT_TIMEOUT', taskId: id, name: 'TimeoutError' });
      expect(elapsed).toBeGreaterThanOrEqual(140);
      expect(elapsed).toBeLessThan(1500);
    });

    it('stops waiting when the signal aborts, and refuses an already-aborted signal', async () => {
      const { client, send, store } = await pair();
      const id = await send();
      const controller = new AbortController();
      const waiting = client
        .waitReady(id, { timeoutMs: 5000, signal: controller.signal })
        .catch((e: unknown) => e);
      setTimeout(() => controller.abort(new Error('user went away')), 50);
      expect(await waiting).toMatchObject({ message: 'user went away' });
      const aborted = AbortSignal.abort(new Error('already'));
      await expect(client.waitReady(id, { signal: aborted })).rejects.toThrow('already');
      // The backend still works for this id afterwards.
      await store(metaFor(id, States.SUCCESS, 'ok'));
      expect(await client.waitReady(id, { timeoutMs: 2000 })).toMatchObject({ result: 'ok' });
    });

    it('serves many concurrent waiters, several on the same task', async () => {
      const { client, send, store } = await pair();
      const ids = await Promise.all(Array.from({ length: 200 }, () => send()));
      const waits = ids.flatMap((id, i) => {
        const one = client.waitReady(id, { timeoutMs: 10_000 });
        return i % 10 === 0 ? [one, client.waitReady(id, { timeoutMs: 10_000 })] : [one];
      });
      await sleep(50);
      await Promise.all(ids.map((id, i) => store(metaFor(id, States.SUCCESS, i))));
      const metas = await Promise.all(waits);
      expect(metas).toHaveLength(220);
      const byId = new Map(metas.map((m) => [m.task_id, m.result]));
      ids.forEach((id, i) => expect(byId.get(id)).toBe(i));
    });

    it('forgets a result', async () => {
      const { client, send, store, readBack } = await pair();
      const id = await send();
      await store(metaFor(id, States.SUCCESS, 'x'));
      await readBack(id, States.SUCCESS);
      await client.forget(id);
      expect(await client.get(id)).toMatchObject({ status: 'PENDING', result: null });
    });

    it('expires a result after expiresSeconds', async (ctx) => {
      if (options.expiry === false) return ctx.skip();
      const { client, send, store, readBack } = await pair();
      const id = await send();
      const kept = await send();
      await store(metaFor(id, States.SUCCESS, 'short'), { expiresSeconds: 0.3 });
      await store(metaFor(kept, States.SUCCESS, 'forever'), { expiresSeconds: null });
      expect(await readBack(id, States.SUCCESS)).toMatchObject({ result: 'short' });
      await sleep(500);
      expect(await client.get(id)).toMatchObject({ status: 'PENDING' });
      expect(await client.get(kept)).toMatchObject({ status: 'SUCCESS', result: 'forever' });
    });

    it('refuses a result JSON cannot hold with ResultEncodeError, and stores nothing', async () => {
      const { client, send, store } = await pair();
      const circular: Record<string, unknown> = { a: 1 };
      circular.self = circular;
      for (const bad of [circular, { callback: () => 1 }, () => 1, { s: Symbol('x') }]) {
        const id = await send();
        const error = await store(metaFor(id, States.SUCCESS, bad)).catch((e: unknown) => e);
        expect(error).toBeInstanceOf(ResultEncodeError);
        expect(error).toMatchObject({ code: 'RESULT_ENCODE', taskId: id });
        await sleep(10);
        expect(await client.get(id)).toMatchObject({ status: 'PENDING' });
        // The worker then stores a FAILURE in its place, which works.
        const failure = {
          exc_type: 'EncodeError',
          exc_message: [(error as Error).message],
          exc_module: 'kombu.exceptions',
        };
        await store(metaFor(id, States.FAILURE, failure));
        expect(await client.waitReady(id, { timeoutMs: 2000 })).toMatchObject({
          status: 'FAILURE',
          result: failure,
        });
      }
    });

    it('rejects waiters when closed instead of leaving them hanging', async () => {
      const { client, send } = await pair();
      const id = await send();
      const waiting = client.waitReady(id, { timeoutMs: 10_000 }).catch((e: unknown) => e);
      await sleep(20);
      await client.close();
      expect(await waiting).toMatchObject({ code: 'BACKEND_CLOSED' });
    });
  });
}

/** A meta as a worker stores it; `date_done` is set for ready states unless overridden. */
export function metaFor(
  id: string,
  status: TaskState,
  result: unknown,
  extra: Partial<ResultMeta> = {},
): ResultMeta {
  return {
    task_id: id,
    status,
    result,
    traceback: null,
    children: [],
    date_done: ['SUCCESS', 'FAILURE', 'REVOKED'].includes(status) ? utcNowIso() : null,
    ...extra,
  };
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
