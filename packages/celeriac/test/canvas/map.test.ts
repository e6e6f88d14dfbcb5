import { afterEach, describe, expect, it } from 'vitest';
import { chunks, xmap, xstarmap } from '../../src/index.ts';
import { memoryApp, startWorker, stopAll, waitFor } from '../worker/helpers.ts';

afterEach(stopAll);

describe('canvas: map, starmap, chunks (celery.map / celery.starmap builtins)', () => {
  function setup() {
    const app = memoryApp();
    const double = app.task('m.double', (x: number) => x * 2);
    const add = app.task('m.add', (x: number, y: number) => x + y);
    return { app, double, add };
  }

  it('xmap sends one celery.map message that runs the task per item', async () => {
    const { app, double } = setup();
    await startWorker(app);
    const sig = xmap(double.s(), [1, 2, 3]);
    expect(sig.toDict()).toMatchObject({ task: 'celery.map', args: [], immutable: true });
    expect(sig.toDict().kwargs).toMatchObject({ task: { task: 'm.double' }, it: [1, 2, 3] });
    expect(await (await sig.applyAsync()).get({ timeout: 5000 })).toEqual([2, 4, 6]);
  });

  it('xstarmap spreads each item as arguments', async () => {
    const { app, add } = setup();
    await startWorker(app);
    const result = await xstarmap(add.s(), [
      [1, 2],
      [3, 4],
    ]).applyAsync();
    expect(await result.get({ timeout: 5000 })).toEqual([3, 7]);
  });

  it('chunks becomes a group of celery.starmap tasks of n items each', async () => {
    const { app, add } = setup();
    await startWorker(app);
    const items = Array.from({ length: 10 }, (_, i) => [i, i] as [number, number]);
    const parts = chunks(add.s(), items, 4);
    expect(parts.group().members.map((m) => (m.kwargs.it as unknown[]).length)).toEqual([4, 4, 2]);
    const result = await parts.applyAsync();
    expect(await result.get({ timeout: 5000 })).toEqual([
      [0, 2, 4, 6],
      [8, 10, 12, 14],
      [16, 18],
    ]);
  });

  it('rejects bad input with a clear error, and fails the map when the inner task is unknown', async () => {
    const { app, add } = setup();
    expect(() => chunks(add.s(), [[1, 2]], 0)).toThrow(/n must be a positive integer/);
    expect(() => xstarmap(add.s(), [1 as never])).toThrow(/item 0 is not an array/);
    await startWorker(app);
    const result = await app.sendTask('celery.map', [], {
      task: { task: 'm.nope', args: [], kwargs: {}, options: {} },
      it: [1],
    });
    await expect(result.get({ timeout: 5000 })).rejects.toMatchObject({ message: /m\.nope.*not registered/ });
  });
});

describe('canvas: link and link_error on signatures (§8.2)', () => {
  it('sends the link with the result and the errback with the failed task id', async () => {
    const app = memoryApp();
    const seen: unknown[][] = [];
    const add = app.task('l.add', (x: number, y: number) => x + y);
    const fail = app.task('l.fail', () => {
      throw new Error('no');
    });
    const record = app.task('l.record', (...args: unknown[]) => void seen.push(args));
    await startWorker(app);
    const ok = await add.s(2, 3).link(record.s('ok')).applyAsync();
    expect(await ok.get({ timeout: 5000 })).toBe(5);
    const bad = await fail.s().onError(record.s('err')).link(record.s('never')).applyAsync();
    await expect(bad.get({ timeout: 5000 })).rejects.toMatchObject({ excType: 'Exception' });
    await waitFor(() => seen.length === 2, 5000, 'the callback and the errback');
    expect(seen).toEqual(
      expect.arrayContaining([
        [5, 'ok'],
        [bad.id, 'err'],
      ]),
    );
    expect(add.s(1).link(record.s()).link(record.s()).toDict().options.link).toHaveLength(2);
  });
});
