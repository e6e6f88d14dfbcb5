import { afterEach, describe, expect, it } from 'vitest';
import type { ResultBackend } from '../../src/backends/backend.ts';
import { ResultEncodeError } from '../../src/backends/errors.ts';
import type { Celeriac } from '../../src/app/celeriac.ts';
import { MemoryBackend } from '../../src/backends/memory/memory-backend.ts';
import { encodeJson } from '../../src/protocol/json.ts';
import { Signature } from '../../src/canvas/signature.ts';
import { captureLogger, memoryApp, startWorker, stopAll, waitFor, waitForState } from './helpers.ts';

afterEach(stopAll);

/** Makes the app use `backend` (a memory backend that behaves like a real one in some way). */
function useBackend(app: Celeriac, backend: ResultBackend): void {
  (app as unknown as { backend: () => Promise<ResultBackend> }).backend = async () => backend;
}

/** A memory backend that encodes like the Redis backend does (JSON), and can be "down". */
class EncodingBackend extends MemoryBackend {
  down = 0;
  calls = 0;
  override async store(...args: Parameters<MemoryBackend['store']>): Promise<void> {
    this.calls++;
    if (this.down > 0) {
      this.down--;
      throw new Error('ECONNREFUSED 127.0.0.1:6379');
    }
    try {
      encodeJson(args[0]);
    } catch (error) {
      throw new ResultEncodeError(args[0].task_id, (error as Error).message, { cause: error });
    }
    return super.store(...args);
  }
}

function childIds(children: unknown[]): string[] {
  return children.map((c) => (c as [[string, null], null])[0][0]);
}

describe('worker: callbacks and chains', () => {
  it('sends link callbacks with the value prepended (not for immutable ones) and lists them as children', async () => {
    const app = memoryApp();
    const add = app.task('c.add', (x: number, y: number) => x + y);
    const seen: unknown[][] = [];
    const record = app.task('c.record', (...args: unknown[]) => {
      seen.push(args);
      return args.length;
    });
    await startWorker(app);
    const r = await add.applyAsync([2, 2], {}, { link: [record.s('tail'), record.si('fixed')] });
    expect(await r.get({ timeout: 2000 })).toBe(4);
    const meta = await r.meta();
    expect(meta.children).toHaveLength(2);
    const ids = childIds(meta.children);
    await Promise.all(ids.map((id) => app.AsyncResult(id).get({ timeout: 2000 })));
    expect(seen).toContainEqual([4, 'tail']);
    expect(seen).toContainEqual(['fixed']);
    const child = await app.AsyncResult(ids[0]!).meta();
    expect(child.parent_id).toBe(r.id);
  });

  it('continues a chain: pops the next step, passes the value, keeps root_id, fills children before storing', async () => {
    const app = memoryApp();
    const add = app.task('c.add2', (x: number, y: number) => x + y);
    const mul = app.task('c.mul', (x: number, y: number) => x * y);
    await startWorker(app);
    // a.s(2,2) | b.s(4) | c.s(8): only a is sent, embed.chain = [c, b]
    const c = mul.s(8).set({ task_id: 'step-c' });
    const b = add.s(4).set({ task_id: 'step-b' });
    const first = await add.applyAsync([2, 2], {}, { chain: [c, b] });
    expect(await first.get({ timeout: 2000 })).toBe(4);
    expect(childIds((await first.meta()).children)).toEqual(['step-b']);
    expect(await app.AsyncResult('step-c').get({ timeout: 2000 })).toBe(64);
    const metaB = await app.AsyncResult('step-b').meta();
    expect(metaB).toMatchObject({ result: 8, parent_id: first.id });
    expect(childIds(metaB.children)).toEqual(['step-c']);
  });

  it('on failure sends errbacks with [task_id, ...args] and stores FAILURE for every remaining chain step', async () => {
    const app = memoryApp();
    const fail = app.task('c.fail', () => {
      throw new RangeError('bad value');
    });
    const got: unknown[][] = [];
    const onError = app.task('c.onError', (...args: unknown[]) => got.push(args));
    const next = app.task('c.next', (x: unknown) => x);
    await startWorker(app);
    const r = await fail.applyAsync(
      [],
      {},
      {
        linkError: onError.s('extra'),
        chain: [next.s().set({ task_id: 'never-3' }), next.s().set({ task_id: 'never-2' })],
      },
    );
    const meta = await waitForState(app, r.id, 'FAILURE');
    expect(meta.result).toMatchObject({ exc_type: 'ValueError', exc_message: ['bad value'] });
    for (const id of ['never-2', 'never-3']) {
      expect(await waitForState(app, id, 'FAILURE')).toMatchObject({ result: { exc_type: 'ValueError' } });
    }
    await waitFor(() => got.length === 1);
    expect(got[0]).toEqual([r.id, 'extra']);
  });

  it('says plainly that a chord part cannot be counted on a backend without chord counters, without crashing', async () => {
    const app = memoryApp();
    const { logger, lines } = captureLogger();
    app.logger = logger;
    const part = app.task('c.part', () => 1);
    const body = app.task('c.body', (xs: number[]) => xs);
    await startWorker(app);
    const r = await part.applyAsync(
      [],
      {},
      { groupId: 'g1', groupIndex: 0, chord: new Signature(body.name) },
    );
    expect(await r.get({ timeout: 2000 })).toBe(1);
    expect(lines.some((l) => l.level === 50 && /cannot count chord parts/.test(l.msg))).toBe(true);
  });
});

describe('worker: storing results', () => {
  it('stores a FAILURE saying why when the result cannot be encoded', async () => {
    const app = memoryApp();
    const { logger, lines } = captureLogger();
    app.logger = logger;
    useBackend(app, new EncodingBackend(`memory://${app.conf.backend!.slice(9)}`));
    const circular = app.task('s.circular', () => {
      const o: Record<string, unknown> = { a: 1 };
      o.self = o;
      return o;
    });
    const big = app.task('s.bigint', () => 10n ** 30n);
    await startWorker(app);
    const r = await circular.delay();
    const meta = await waitForState(app, r.id, 'FAILURE');
    expect(meta.result).toMatchObject({ exc_type: 'EncodeError', exc_module: 'kombu.exceptions' });
    expect(String((meta.result as { exc_message: string[] }).exc_message[0])).toMatch(
      /SUCCESS result .* could not be encoded: .*circular/i,
    );
    expect(lines.some((l) => l.level === 50 && l.msg.includes('cannot be encoded'))).toBe(true);
    // BigInt is encodable by our JSON (as a string), so it is stored
    const b = await big.delay();
    expect(await b.get({ timeout: 2000 })).toBe('1000000000000000000000000000000');
  });

  it('retries storing while the backend is down, then stores', async () => {
    const app = memoryApp();
    const backend = new EncodingBackend(`memory://${app.conf.backend!.slice(9)}`);
    useBackend(app, backend);
    const t = app.task('s.flakyBackend', () => 'eventually');
    await startWorker(app, { resultStoreRetryMs: 5_000 });
    backend.down = 3;
    const r = await t.delay();
    expect(await r.get({ timeout: 4000 })).toBe('eventually');
    expect(backend.calls).toBe(4);
  });

  it('with acksLate gives the message back (requeue) when the state cannot be stored, so nothing is lost', async () => {
    const app = memoryApp({ acksLate: true });
    const { logger, lines } = captureLogger();
    app.logger = logger;
    const backend = new EncodingBackend(`memory://${app.conf.backend!.slice(9)}`);
    useBackend(app, backend);
    let runs = 0;
    const t = app.task('s.downBackend', () => ++runs);
    await startWorker(app, { resultStoreRetryMs: 250 });
    backend.down = 1_000_000;
    const r = await t.delay();
    await waitFor(() => runs >= 2, 5000, 'a redelivery');
    expect(
      lines.some(
        (l) =>
          l.level === 50 && l.msg.includes('giving s.downBackend') && l.msg.includes('back to the broker'),
      ),
    ).toBe(true);
    backend.down = 0;
    expect(await r.get({ timeout: 4000 })).toBeGreaterThanOrEqual(2);
  });
});
