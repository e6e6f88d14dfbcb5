import { afterEach, expect, it } from 'vitest';
import { Celeriac, chain, chord, group } from '../../src/index.ts';
import { describeWith, SERVICES, uniqueName } from '../helpers/services.ts';
import { startWorker, stopAll } from '../worker/helpers.ts';

const backendUrl = `${SERVICES.redis.url}/12`;

await describeWith(['redis'], 'canvas: nesting (chains of groups and chords, groups of chains)', () => {
  const apps: Celeriac[] = [];
  afterEach(async () => {
    await stopAll();
    await Promise.all(apps.splice(0).map((a) => a.close()));
  });

  async function setup() {
    const app = new Celeriac({ broker: `memory://${uniqueName('nest')}`, backend: backendUrl });
    apps.push(app);
    const add = app.task('n.add', (x: number, y: number) => x + y);
    const tsum = app.task('n.tsum', (xs: number[]) => xs.reduce((a, b) => a + b, 0));
    await startWorker(app, { concurrency: 8 });
    return { app, add, tsum };
  }

  it('upgrades a group followed by a step in a chain to a chord (prepare_steps)', async () => {
    const { add, tsum } = await setup();
    const result = await chain(add.s(1, 1), group(add.s(10), add.s(20)), tsum.s()).applyAsync();
    expect(await result.get({ timeout: 10_000 })).toBe(12 + 22);
  });

  it('runs a chord in the middle of a chain: the value goes to the header, the rest follows the body', async () => {
    const { add, tsum } = await setup();
    const result = await chain(add.s(1, 1), chord([add.s(1), add.s(2)], tsum.s()), add.s(100)).applyAsync();
    expect(await result.get({ timeout: 10_000 })).toBe(3 + 4 + 100);
  });

  it('starts a chain with a group (a chord whose body carries the rest of the chain)', async () => {
    const { add, tsum } = await setup();
    const result = await chain(group(add.s(1, 1), add.s(2, 2)), tsum.s(), add.s(1)).applyAsync();
    expect(await result.get({ timeout: 10_000 })).toBe(7);
  });

  it('runs a group of chains, each member result being its chain’s last step', async () => {
    const { add } = await setup();
    const result = await group(chain(add.s(1, 1), add.s(1)), chain(add.s(2, 2), add.s(1))).applyAsync();
    expect(await result.get({ timeout: 10_000 })).toEqual([3, 5]);
  });

  it('runs a chain as a chord body', async () => {
    const { add, tsum } = await setup();
    const result = await chord([add.s(1, 1), add.s(2, 2)], chain(tsum.s(), add.s(1))).applyAsync();
    expect(await result.get({ timeout: 10_000 })).toBe(7);
  });

  it('writes nested canvas as Python does: celery.chord with header/body, celery.group with tasks', async () => {
    const { add, tsum } = await setup();
    const dict = chord([add.s(1, 1)], tsum.s())
      .toSignature()
      .toDict();
    expect(dict).toMatchObject({
      task: 'celery.chord',
      subtask_type: 'chord',
      kwargs: {
        header: {
          task: 'celery.group',
          subtask_type: 'group',
          kwargs: { tasks: [{ task: 'n.add', args: [1, 1] }] },
        },
        body: { task: 'n.tsum', subtask_type: null },
        kwargs: {},
      },
    });
  });
});
