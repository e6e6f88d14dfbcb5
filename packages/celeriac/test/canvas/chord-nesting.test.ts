/**
 * Chords with canvas inside (celery/canvas.py `group._freeze_unroll`, `_chain.freeze`,
 * `chord._descend`): groups in the header are flattened, a chain in the header is one part that
 * its last step completes, and a group as the body runs with the results and reads as a group.
 * Run on the Redis counters and on the SQL counter row (SQLite file).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { Celeriac, chain, chord, group, type TaskContext } from '../../src/index.ts';
import { describeWith, SERVICES, uniqueName } from '../helpers/services.ts';
import { startWorker, stopAll } from '../worker/helpers.ts';

const dir = mkdtempSync(join(tmpdir(), 'celeriac-chord-nest-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

interface Seen {
  group: string | null;
  index: number | null;
}

function suite(label: string, url: () => string) {
  describe(`chord nesting (${label})`, () => {
    const apps: Celeriac[] = [];
    afterEach(async () => {
      await stopAll();
      await Promise.all(apps.splice(0).map((a) => a.close()));
    });

    async function setup() {
      const app = new Celeriac({ broker: `memory://${uniqueName('chord-nest')}`, backend: url() });
      apps.push(app);
      const seen = new Map<string, Seen>();
      const add = app.task(
        'cn.add',
        async (ctx: TaskContext, x: number, y: number) => {
          seen.set(ctx.id, { group: ctx.groupId, index: ctx.headers.group_index });
          // Small sums finish last, so completion order differs from header order.
          await new Promise((r) => setTimeout(r, Math.max(0, 40 - x * 4)));
          return x + y;
        },
        { bind: true },
      );
      const mul = app.task('cn.mul', (x: number, y: number) => x * y);
      const collect = app.task('cn.collect', (values: unknown) => values);
      const size = app.task('cn.size', (values: unknown[]) => values.length);
      const fail = app.task('cn.fail', () => {
        throw new RangeError('nope');
      });
      await startWorker(app, { concurrency: 8 });
      return { app, seen, add, mul, collect, size, fail };
    }

    it('flattens groups in the header and counts a chain as one part, finished by its last step', async () => {
      const { seen, add, mul, collect } = await setup();
      const result = await chord(
        [
          add.s(1, 1),
          group(add.s(2, 2), group(add.s(3, 3), add.s(4, 4))),
          chain(add.s(5, 5), add.s(1), mul.s(10)),
        ],
        collect.s(),
      ).applyAsync();
      // Had the chain's first step counted, the body would have run with 10 in place of 110.
      expect(await result.get({ timeout: 15_000 })).toEqual([2, 4, 6, 8, 110]);
      const parts = result.parent.results.map((r) => r.id);
      expect(parts).toHaveLength(5);
      expect(await result.parent.get({ timeout: 5_000 })).toEqual([2, 4, 6, 8, 110]);
      for (const [i, id] of parts.slice(0, 4).entries()) {
        expect(seen.get(id)).toEqual({ group: result.parent.id, index: i });
      }
      // The chain's earlier steps carry no chord group: only the last step counts the part.
      const chainSteps = [...seen.entries()].filter(([id]) => !parts.includes(id));
      expect(chainSteps).toHaveLength(2);
      for (const [, s] of chainSteps) expect(s.group).toBeNull();
    });

    it('fails the body when a step before the end of a header chain fails, instead of stalling', async () => {
      const { add, mul, collect, fail } = await setup();
      const result = await chord([add.s(1, 1), chain(fail.s(), mul.s(2))], collect.s()).applyAsync();
      await expect(result.get({ timeout: 15_000 })).rejects.toMatchObject({ excType: 'ChordError' });
    });

    it('runs a group as the body, each member getting the header results; its handle reads as a group', async () => {
      const { add, collect, size } = await setup();
      const body = group(collect.s(), chain(collect.s(), size.s()), size.s());
      const result = await chord([add.s(1, 1), add.s(2, 2)], body).applyAsync();
      const values = await result.get({ timeout: 15_000 });
      expect(values).toEqual([[2, 4], 2, 2]);
      expect(result.group!.results).toHaveLength(3);
      expect(result.group!.id).toBe(result.id);
      expect(await result.ready()).toBe(true);
      expect(await result.successful()).toBe(true);
    });

    it('fails every member of a group body with the ChordError when a header task fails', async () => {
      const { add, collect, fail } = await setup();
      const result = await chord([add.s(1, 1), fail.s()], group(collect.s(), collect.s())).applyAsync();
      await expect(result.get({ timeout: 15_000 })).rejects.toMatchObject({ excType: 'ChordError' });
      expect(await result.failed()).toBe(true);
      for (const member of result.group!.results) expect(await member.state).toBe('FAILURE');
    });

    it('refuses canvas a chord header cannot count, before sending anything', async () => {
      const { add, collect } = await setup();
      await expect(
        chord([add.s(1, 1), chord([add.s(2, 2)], collect.s()).toSignature()], collect.s()).applyAsync(),
      ).rejects.toThrow(/header member celery\.chord is a chord/);
      await expect(
        chord([chain(add.s(1, 1), group(add.s(1), add.s(2)))], collect.s()).applyAsync(),
      ).rejects.toThrow(/a chain in the header may hold only tasks/);
    });
  });
}

await describeWith(['redis'], 'chord nesting on Redis', () => {
  suite('redis', () => `${SERVICES.redis.url}/12`);
});

suite('sqlite', () => `sqlite://${join(dir, `${uniqueName('nest')}.db`)}`);
