import { describe, expect, it } from 'vitest';
import {
  RedisStoreBatcher,
  RedisStoreError,
  type SendBatch,
} from '../../src/backends/redis/redis-store-batch.ts';

/** A fake Redis: records each batch and answers from `answer` once `release()` is called. */
function fakeSend(answer: (keys: string[], args: string[]) => unknown[] | Error) {
  const batches: { keys: string[]; args: string[] }[] = [];
  const releases: (() => void)[] = [];
  const send: SendBatch = (keys, args) => {
    batches.push({ keys, args });
    return new Promise((resolve, reject) => {
      releases.push(() => {
        const reply = answer(keys, args);
        if (reply instanceof Error) reject(reply);
        else resolve(reply);
      });
    });
  };
  const releaseAll = () => releases.splice(0).forEach((release) => release());
  return { send, batches, releaseAll };
}

const turn = () => new Promise<void>((resolve) => setImmediate(resolve));
const allStored = (keys: string[]) => keys.map(() => 1);

describe('RedisStoreBatcher', () => {
  it('sends the stores of one event-loop turn as one batch, in order, and settles each after the reply', async () => {
    const fake = fakeSend(allStored);
    const batcher = new RedisStoreBatcher(fake.send, 128, 1 << 20);
    const settled: string[] = [];
    const stores = ['a', 'b', 'c'].map((k) =>
      batcher.store(k, `{"k":"${k}"}`, k === 'b' ? '' : '5000').then(() => settled.push(k)),
    );
    expect(fake.batches).toHaveLength(0); // nothing goes out before the turn ends
    await turn();
    expect(fake.batches).toEqual([
      { keys: ['a', 'b', 'c'], args: ['{"k":"a"}', '5000', '{"k":"b"}', '', '{"k":"c"}', '5000'] },
    ]);
    await turn();
    expect(settled).toEqual([]); // no reply yet: nobody may ack
    fake.releaseAll();
    await Promise.all(stores);
    expect(settled).toEqual(['a', 'b', 'c']);

    // A later turn makes a new batch.
    const later = batcher.store('d', '{}', '');
    await turn();
    expect(fake.batches.map((b) => b.keys)).toEqual([['a', 'b', 'c'], ['d']]);
    fake.releaseAll();
    await expect(later).resolves.toBe(true);
  });

  it('splits at maxBatch and at maxChars without waiting for the turn to end', async () => {
    const fake = fakeSend(allStored);
    const batcher = new RedisStoreBatcher(fake.send, 3, 100);
    const stores = [1, 2, 3, 4, 5].map((i) => batcher.store(`k${i}`, '{}', ''));
    expect(fake.batches.map((b) => b.keys)).toEqual([['k1', 'k2', 'k3']]);
    const big = batcher.store('big', 'x'.repeat(150), '');
    expect(fake.batches.map((b) => b.keys)).toEqual([
      ['k1', 'k2', 'k3'],
      ['k4', 'k5', 'big'],
    ]);
    await turn();
    expect(fake.batches).toHaveLength(2); // nothing was left for the end of the turn
    fake.releaseAll();
    await Promise.all([...stores, big]);
  });

  it('gives each caller its own key outcome: stored, SUCCESS already there, or the error Redis gave', async () => {
    const fake = fakeSend(() => [1, 0, 'WRONGTYPE Operation against a key holding the wrong kind of value']);
    const batcher = new RedisStoreBatcher(fake.send, 128, 1 << 20);
    const outcomes = Promise.allSettled([
      batcher.store('ok', '{}', ''),
      batcher.store('sticky', '{}', ''),
      batcher.store('hash', '{}', ''),
    ]);
    await turn();
    fake.releaseAll();
    const [ok, sticky, hash] = await outcomes;
    expect(ok).toEqual({ status: 'fulfilled', value: true });
    expect(sticky).toEqual({ status: 'fulfilled', value: false });
    expect(hash.status).toBe('rejected');
    const error = (hash as PromiseRejectedResult).reason as RedisStoreError;
    expect(error).toBeInstanceOf(RedisStoreError);
    expect(error).toMatchObject({ code: 'REDIS_STORE', key: 'hash' });
    expect(error.message).toMatch(/Redis refused to store hash: WRONGTYPE/);
  });

  it('rejects every store of a batch the command failed for, and a reply of the wrong shape', async () => {
    const lost = new Error('Connection is closed.');
    let reply: unknown[] | Error = lost;
    const fake = fakeSend(() => reply);
    const batcher = new RedisStoreBatcher(fake.send, 128, 1 << 20);
    const failed = Promise.allSettled([batcher.store('a', '{}', ''), batcher.store('b', '{}', '')]);
    await turn();
    fake.releaseAll();
    expect(await failed).toEqual([
      { status: 'rejected', reason: lost },
      { status: 'rejected', reason: lost },
    ]);

    reply = [1];
    const short = Promise.allSettled([batcher.store('c', '{}', ''), batcher.store('d', '{}', '')]);
    await turn();
    fake.releaseAll();
    const [c, d] = await short;
    expect(c).toEqual({ status: 'fulfilled', value: true });
    expect((d as PromiseRejectedResult).reason).toMatchObject({
      message: expect.stringMatching(/unexpected script reply/) as unknown,
    });
  });

  it('drain() sends what is pending at once and waits for every reply', async () => {
    const fake = fakeSend(allStored);
    const batcher = new RedisStoreBatcher(fake.send, 128, 1 << 20);
    const first = batcher.store('a', '{}', '');
    await turn();
    const second = batcher.store('b', '{}', '');
    let drained = false;
    const draining = batcher.drain().then(() => (drained = true));
    expect(fake.batches.map((b) => b.keys)).toEqual([['a'], ['b']]);
    await turn();
    expect(drained).toBe(false);
    fake.releaseAll();
    await draining;
    await expect(Promise.all([first, second])).resolves.toEqual([true, true]);
    await batcher.drain(); // nothing pending: resolves at once
  });
});
