import { Redis } from 'ioredis';
import { afterAll, afterEach, expect, it } from 'vitest';
import { Celeriac, chord, ChordUnsupportedError, group, TaskError } from '../../src/index.ts';
import { chordKey } from '../../src/backends/redis/redis-chord.ts';
import { decodeTaskMessage } from '../../src/protocol/codec.ts';
import type { Delivery } from '../../src/transports/transport.ts';
import { describeWith, SERVICES, uniqueName } from '../helpers/services.ts';
import { startWorker, stopAll, waitFor } from '../worker/helpers.ts';

const REDIS_DB = 12;
const backendUrl = `${SERVICES.redis.url}/${REDIS_DB}`;

await describeWith(['redis'], 'canvas: chord on the Redis backend (§4.2, §8.5)', () => {
  const apps: Celeriac[] = [];
  const redis = new Redis(`${backendUrl}`, { lazyConnect: true });
  afterEach(async () => {
    await stopAll();
    await Promise.all(apps.splice(0).map((app) => app.close()));
  });
  afterAll(() => redis.quit());

  function makeApp() {
    const app = new Celeriac({ broker: `memory://${uniqueName('chord')}`, backend: backendUrl });
    apps.push(app);
    const calls: Array<{ task: string; args: unknown[] }> = [];
    const add = app.task('ch.add', async (x: number, y: number) => {
      // Later members finish first, so arrival order is not header order.
      await new Promise((r) => setTimeout(r, Math.max(0, 40 - x * 4)));
      return x + y;
    });
    // The body: the header results come first, then its own args (untyped, as a chord body is called).
    const collect = app.task('ch.collect', (...args: unknown[]) => {
      const [values, tag] = args;
      calls.push({ task: 'ch.collect', args });
      return { values, tag };
    });
    const fail = app.task('ch.fail', () => {
      throw new RangeError('nope');
    });
    const onError = app.task('ch.on_error', (...args: unknown[]) => {
      calls.push({ task: 'ch.on_error', args });
      return args;
    });
    return { app, add, collect, fail, onError, calls };
  }

  async function chordKeys(groupId: string): Promise<number> {
    return redis.exists(chordKey(groupId, '.j'), chordKey(groupId, '.t'), chordKey(groupId, '.s'));
  }

  it('sends the body once, with the header results in header order, then deletes .j/.t/.s', async () => {
    const { app, add, collect, calls } = makeApp();
    await startWorker(app, { concurrency: 10 });
    const header = Array.from({ length: 10 }, (_, i) => add.s(i, 100));
    const result = await chord(header, collect.s('done')).applyAsync();
    expect(await result.get({ timeout: 10_000 })).toEqual({
      values: header.map((_, i) => i + 100),
      tag: 'done',
    });
    expect(await result.parent.get({ timeout: 1000 })).toEqual(header.map((_, i) => i + 100));
    expect(calls.filter((c) => c.task === 'ch.collect')).toHaveLength(1);
    expect(await chordKeys(result.parent.id)).toBe(0);
  });

  it('accepts a group as the header and passes partial args to every header task', async () => {
    const { app, add, collect } = makeApp();
    await startWorker(app);
    const result = await chord(group(add.s(1), add.s(2)), collect.s('g')).applyAsync([10]);
    expect(await result.get({ timeout: 10_000 })).toEqual({ values: [11, 12], tag: 'g' });
  });

  it('puts group, group_index and embed.chord on the header messages and sets .s before sending', async () => {
    const { app, add, collect } = makeApp();
    const result = await chord([add.s(1, 1), add.s(2, 2), add.s(3, 3)], collect.s('x')).applyAsync();
    const groupId = result.parent.id;
    expect(await redis.get(chordKey(groupId, '.s'))).toBe('3');
    expect(await redis.pttl(chordKey(groupId, '.s'))).toBeGreaterThan(0);
    const transport = await app.connection();
    const seen: Delivery[] = [];
    const consumer = await transport.consume(['celery'], { prefetch: 0 }, (d) => seen.push(d));
    await waitFor(() => seen.length === 3);
    await consumer.cancel();
    const messages = seen.map((d) => decodeTaskMessage(d.message));
    expect(messages.map((m) => m.headers.group)).toEqual([groupId, groupId, groupId]);
    expect(messages.map((m) => m.headers.group_index)).toEqual([0, 1, 2]);
    for (const m of messages) {
      expect(m.embed.chord).toMatchObject({
        task: 'ch.collect',
        args: ['x'],
        options: { task_id: result.id },
        subtask_type: null,
      });
    }
    await redis.del(chordKey(groupId, '.s'));
  });

  it('fails the body with a ChordError and runs its errbacks when a header task fails', async () => {
    const { app, add, collect, fail, onError, calls } = makeApp();
    await startWorker(app);
    const body = collect.s('never').set({ link_error: [onError.s().toDict()] });
    const result = await chord([add.s(1, 1), fail.s(), add.s(2, 2)], body).applyAsync();
    const failedId = result.parent.results[1]!.id;
    const error = await result.get({ timeout: 10_000 }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(TaskError);
    expect(error).toMatchObject({
      excType: 'ChordError',
      excModule: 'celery.exceptions',
      excMessage: [`Dependency ${failedId} raised ValueError('nope')`],
    });
    await waitFor(() => calls.some((c) => c.task === 'ch.on_error'));
    expect(calls.filter((c) => c.task === 'ch.on_error')).toEqual([
      { task: 'ch.on_error', args: [result.id] },
    ]);
    expect(calls.some((c) => c.task === 'ch.collect')).toBe(false);
    // Released after the failure is recorded.
    await waitFor(async () => (await chordKeys(result.parent.id)) === 0, 5000, 'the chord keys to go');
  });

  it('fails the body with a ChordError when a header task is revoked', async () => {
    const { app, add, collect, calls } = makeApp();
    const worker = await startWorker(app);
    const revokedId = uniqueName('revoked');
    worker.revoke([revokedId]);
    const result = await chord(
      [add.s(1, 1), add.s(2, 2).set({ task_id: revokedId })],
      collect.s('r'),
    ).applyAsync();
    await expect(result.get({ timeout: 10_000 })).rejects.toMatchObject({
      excType: 'ChordError',
      excMessage: [`Dependency ${revokedId} raised TaskRevokedError('revoked')`],
    });
    expect(calls.some((c) => c.task === 'ch.collect')).toBe(false);
  });

  it('counts header tasks whose results are not stored (ignoreResult), failures included', async () => {
    const { app, collect, calls } = makeApp();
    const quiet = app.task('ch.quiet', (x: number) => x * 10, { ignoreResult: true });
    const quietFail = app.task(
      'ch.quiet_fail',
      () => {
        throw new Error('quiet');
      },
      { ignoreResult: true },
    );
    await startWorker(app);
    const ok = await chord([quiet.s(1), quiet.s(2)], collect.s('q')).applyAsync();
    expect(await ok.get({ timeout: 10_000 })).toEqual({ values: [10, 20], tag: 'q' });
    expect(await ok.parent.results[0]!.state).toBe('PENDING'); // not stored, yet counted
    const bad = await chord([quiet.s(1), quietFail.s()], collect.s('never')).applyAsync();
    await expect(bad.get({ timeout: 10_000 })).rejects.toMatchObject({ excType: 'ChordError' });
    expect(calls.filter((c) => c.args[1] === 'never')).toEqual([]);
  });

  it('refuses a chord on a backend without chord counters, before sending anything', async () => {
    const name = uniqueName('nochord');
    const app = new Celeriac({ broker: `memory://${name}`, backend: `memory://${name}` });
    apps.push(app);
    const add = app.task('nc.add', (x: number, y: number) => x + y);
    await expect(chord([add.s(1, 1)], add.s(1)).applyAsync()).rejects.toBeInstanceOf(ChordUnsupportedError);
    const transport = await app.connection();
    expect(await transport.queueLength('celery')).toBe(0);
  });
});
