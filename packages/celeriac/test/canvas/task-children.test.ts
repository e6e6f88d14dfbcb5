import { afterEach, expect, it } from 'vitest';
import { Celeriac, chain, chord, group, type TaskContext } from '../../src/index.ts';
import { describeWith, SERVICES, uniqueName } from '../helpers/services.ts';
import { startWorker, stopAll, waitFor } from '../worker/helpers.ts';

/**
 * Tasks sent from inside a running task (celery/app/base.py `send_task`, celery/app/task.py
 * `add_trail`): they get the running task as `parent_id` and its root as `root_id`, and are
 * listed in its stored `children` as Celery's `as_tuple()` writes them.
 */
const backendUrl = `${SERVICES.redis.url}/12`;

interface Seen {
  parentId: string | null;
  rootId: string;
}

await describeWith(['redis'], 'canvas: tasks sent from inside a task', () => {
  const apps: Celeriac[] = [];
  afterEach(async () => {
    await stopAll();
    await Promise.all(apps.splice(0).map((a) => a.close()));
  });

  async function setup() {
    const app = new Celeriac({ broker: `memory://${uniqueName('kids')}`, backend: backendUrl });
    apps.push(app);
    const seen = new Map<string, Seen>();
    const record = (ctx: TaskContext) => seen.set(ctx.id, { parentId: ctx.parentId, rootId: ctx.rootId });
    const leaf = app.task(
      'kids.leaf',
      (ctx: TaskContext, x: number) => {
        record(ctx);
        return x * 2;
      },
      { bind: true },
    );
    const tsum = app.task(
      'kids.tsum',
      (ctx: TaskContext, xs: number[]) => {
        record(ctx);
        return xs.reduce((a, b) => a + b, 0);
      },
      { bind: true },
    );
    const middle = app.task(
      'kids.middle',
      async (ctx: TaskContext, x: number) => {
        record(ctx);
        const child = await leaf.delay(x);
        return child.id;
      },
      { bind: true },
    );
    await startWorker(app, { concurrency: 8 });
    return { app, seen, record, leaf, tsum, middle };
  }

  it('gives a task sent from a task body its parent and root, and lists it in the stored children', async () => {
    const { app, seen, leaf, middle } = await setup();
    const top = app.task(
      'kids.top',
      async (ctx: TaskContext) => {
        const a = await middle.delay(1);
        const b = await leaf.applyAsync([2]);
        return [ctx.id, a.id, b.id];
      },
      { bind: true },
    );
    const outside = await top.delay();
    const [topId, middleId, leafId] = (await outside.get({ timeout: 10_000 })) as string[];
    const grandchildId = (await app.AsyncResult<string>(middleId!).get({ timeout: 10_000 }))!;
    await app.AsyncResult(leafId!).get({ timeout: 10_000 });
    await app.AsyncResult(grandchildId).get({ timeout: 10_000 });

    expect(seen.get(middleId!)).toEqual({ parentId: topId, rootId: topId });
    expect(seen.get(leafId!)).toEqual({ parentId: topId, rootId: topId });
    // A grandchild keeps the first task as its root and the middle one as its parent.
    expect(seen.get(grandchildId)).toEqual({ parentId: middleId, rootId: topId });
    expect((await app.AsyncResult(topId!).meta()).children).toEqual([
      [[middleId, null], null],
      [[leafId, null], null],
    ]);
    expect((await app.AsyncResult(middleId!).meta()).children).toEqual([[[grandchildId, null], null]]);
  });

  it('leaves lineage alone outside a task, and an explicit parentId/rootId wins inside one', async () => {
    const { app, seen, leaf } = await setup();
    const plain = await leaf.delay(5);
    await plain.get({ timeout: 10_000 });
    expect(seen.get(plain.id)).toEqual({ parentId: null, rootId: plain.id });
    const chooser = app.task('kids.chooser', async () => {
      const child = await leaf.applyAsync([1], {}, { parentId: 'p-1', rootId: 'r-1' });
      return child.id;
    });
    const childId = (await (await chooser.delay()).get({ timeout: 10_000 })) as string;
    await app.AsyncResult(childId).get({ timeout: 10_000 });
    expect(seen.get(childId)).toEqual({ parentId: 'p-1', rootId: 'r-1' });
  });

  it('keeps concurrent tasks apart: each lists only what it sent itself', async () => {
    const { app, leaf } = await setup();
    const fan = app.task('kids.fan', async (n: number) => {
      const ids: string[] = [];
      for (let i = 0; i < n; i++) {
        // Yield between sends so the other running tasks interleave with this one.
        await new Promise((r) => setTimeout(r, 1));
        ids.push((await leaf.delay(i)).id);
      }
      return ids;
    });
    const runs = await Promise.all([3, 4, 5, 6].map((n) => fan.delay(n)));
    for (const run of runs) {
      const ids = (await run.get({ timeout: 10_000 })) as string[];
      const meta = await app.AsyncResult(run.id).meta();
      expect(meta.children).toEqual(ids.map((id) => [[id, null], null]));
    }
  });

  it('lists a group once, as a GroupResult tuple, its members carrying the lineage', async () => {
    const { app, seen, leaf } = await setup();
    const spawner = app.task(
      'kids.spawner',
      async (ctx: TaskContext) => {
        const result = await group(leaf.s(1), leaf.s(2), leaf.s(3)).applyAsync();
        return { me: ctx.id, gid: result.id, ids: result.results.map((r) => r.id) };
      },
      { bind: true },
    );
    const { me, gid, ids } = (await (await spawner.delay()).get({ timeout: 10_000 })) as {
      me: string;
      gid: string;
      ids: string[];
    };
    for (const id of ids) await app.AsyncResult(id).get({ timeout: 10_000 });
    expect((await app.AsyncResult(me).meta()).children).toEqual([
      [[gid, null], ids.map((id) => [[id, null], null])],
    ]);
    for (const id of ids) expect(seen.get(id)).toEqual({ parentId: me, rootId: me });
  });

  it('lists a chain by its first step and a chord by its header group; the whole workflow shares the root', async () => {
    const { app, seen, leaf, tsum } = await setup();
    const composer = app.task(
      'kids.composer',
      async (ctx: TaskContext) => {
        const c = await chain(leaf.s(1), leaf.s(), leaf.s()).applyAsync();
        const d = await chord([leaf.s(1), leaf.s(2)], tsum.s()).applyAsync();
        return {
          me: ctx.id,
          chainLast: c.id,
          chordBody: d.id,
          header: d.parent.id,
          parts: d.parent.results.map((r) => r.id),
        };
      },
      { bind: true },
    );
    const out = (await (await composer.delay()).get({ timeout: 10_000 })) as {
      me: string;
      chainLast: string;
      chordBody: string;
      header: string;
      parts: string[];
    };
    expect(await app.AsyncResult(out.chainLast).get({ timeout: 10_000 })).toBe(8);
    expect(await app.AsyncResult(out.chordBody).get({ timeout: 10_000 })).toBe(6);
    const children = (await app.AsyncResult(out.me).meta()).children as unknown[];
    expect(children).toHaveLength(2);
    const [chainChild, chordChild] = children as [[[string, null], null], unknown];
    expect(chainChild[1]).toBeNull();
    const firstStep = chainChild[0][0];
    // The first step was sent by the composer; the later ones by the step before them.
    expect(seen.get(firstStep)).toEqual({ parentId: out.me, rootId: out.me });
    expect(seen.get(out.chainLast)).toMatchObject({ rootId: out.me });
    expect(seen.get(out.chainLast)!.parentId).not.toBe(out.me);
    expect(chordChild).toEqual([[out.header, null], out.parts.map((id) => [[id, null], null])]);
    for (const id of out.parts) expect(seen.get(id)).toEqual({ parentId: out.me, rootId: out.me });
    // The body is sent by the header task that finished last: that task is its parent.
    await waitFor(() => seen.get(out.chordBody), 10_000, 'the chord body to run');
    expect(out.parts).toContain(seen.get(out.chordBody)!.parentId);
    expect(seen.get(out.chordBody)!.rootId).toBe(out.me);
  });
});
