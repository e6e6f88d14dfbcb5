import { afterEach, describe, expect, it } from 'vitest';
import { Celeriac, chain, group, Worker } from '../src/index.ts';
import { uniqueName } from './helpers/services.ts';

describe('canvas: chain and group (memory broker, real worker)', () => {
  const running: Array<{ worker: Worker; app: Celeriac }> = [];
  afterEach(async () => {
    for (const { worker, app } of running.splice(0)) {
      await worker.stop();
      await app.close();
    }
  });

  async function start() {
    const name = uniqueName('canvas');
    const app = new Celeriac({ broker: `memory://${name}`, backend: `memory://${name}` });
    const add = app.task('t.add', (x: number, y: number) => x + y);
    const mul = app.task('t.mul', (x: number, y: number) => x * y);
    const fail = app.task('t.fail', () => {
      throw new RangeError('nope');
    });
    const worker = new Worker(app, { concurrency: 4 });
    await worker.start();
    running.push({ worker, app });
    return { app, add, mul, fail };
  }

  it('runs a chain, each step getting the previous result first', async () => {
    const { add, mul } = await start();
    const result = await chain(add.s(2, 2), mul.s(10), add.s(1)).applyAsync();
    expect(await result.get({ timeout: 5000 })).toBe(41);
  });

  it('does not pass the previous result to an immutable step', async () => {
    const { add } = await start();
    const result = await chain(add.s(2, 2), add.si(1, 1)).applyAsync();
    expect(await result.get({ timeout: 5000 })).toBe(2);
  });

  it('marks every later step of a chain failed when a step fails', async () => {
    const { add, fail } = await start();
    const result = await chain(add.s(1, 1), fail.s(), add.s(1)).applyAsync();
    await expect(result.get({ timeout: 5000 })).rejects.toMatchObject({ excType: 'ValueError' });
  });

  it('runs a group and returns the results in member order', async () => {
    const { add } = await start();
    const members = Array.from({ length: 50 }, (_, i) => add.s(i, i));
    const result = await group(members).applyAsync();
    expect(result.results).toHaveLength(50);
    expect(await result.get({ timeout: 10_000 })).toEqual(members.map((_, i) => 2 * i));
    expect(await result.completedCount()).toBe(50);
  });
});
