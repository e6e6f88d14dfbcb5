/** The batching logic on its own; the server side is covered by redis-backend.test.ts. */
import { describe, expect, it } from 'vitest';
import {
  RedisSubscriptions,
  type SubscriberConnection,
} from '../../src/backends/redis/redis-subscriptions.ts';

function recorder(failNext = false) {
  const calls: [string, string[]][] = [];
  const connection: SubscriberConnection = {
    subscribe: async (...channels) => {
      calls.push(['subscribe', channels]);
      if (failNext) {
        failNext = false;
        throw new Error('connection lost');
      }
    },
    unsubscribe: async (...channels) => void calls.push(['unsubscribe', channels]),
  };
  return { calls, connection };
}

describe('RedisSubscriptions', () => {
  it('turns many wants in one tick into one SUBSCRIBE, and a second want of a channel into none', async () => {
    const { calls, connection } = recorder();
    const subs = new RedisSubscriptions(connection);
    await Promise.all(Array.from({ length: 100 }, (_, i) => subs.want(`c${i}`)));
    await subs.want('c5');
    expect(calls).toHaveLength(1);
    expect(calls[0]![1]).toHaveLength(100);
  });

  it('sends nothing for a want and unwant in the same tick, and batches unsubscribes', async () => {
    const { calls, connection } = recorder();
    const subs = new RedisSubscriptions(connection);
    await subs.want('a');
    await subs.want('b');
    const quick = subs.want('gone');
    subs.unwant('gone');
    await quick;
    subs.unwant('a');
    subs.unwant('b');
    await subs.want('c');
    expect(calls).toEqual([
      ['subscribe', ['a']],
      ['subscribe', ['b']],
      ['unsubscribe', ['a', 'b']],
      ['subscribe', ['c']],
    ]);
  });

  it('asks again after a failed SUBSCRIBE, and re-sends everything after a reconnect', async () => {
    const { calls, connection } = recorder(true);
    const subs = new RedisSubscriptions(connection);
    await expect(subs.want('x')).rejects.toThrow('connection lost');
    await subs.want('x');
    await subs.want('y');
    await subs.resubscribeAll();
    expect(calls.map(([op, ch]) => `${op} ${ch.join(',')}`)).toEqual([
      'subscribe x',
      'subscribe x',
      'subscribe y',
      'subscribe x,y',
    ]);
  });

  it('trims the oldest droppable channels', async () => {
    const { connection } = recorder();
    const subs = new RedisSubscriptions(connection);
    for (const c of ['keep', 'a', 'b', 'c', 'd']) await subs.want(c);
    subs.trim(3, (c) => c !== 'keep');
    expect([...subs.channels()]).toEqual(['keep', 'c', 'd']);
  });
});
