import { describe, expect, it } from 'vitest';
import { AckBatcher } from '../../src/transports/amqp/amqp-acks.ts';

/** Records what would go on the wire, and checks it against a model of RabbitMQ's unacked set. */
function wire() {
  const sent: string[] = [];
  const outstanding = new Set<number>();
  const deliver = (n: number) => {
    for (let t = 1; t <= n; t++) outstanding.add(t);
  };
  const sink = {
    ack(tag: number, multiple: boolean) {
      // RabbitMQ answers an unknown tag with 406 PRECONDITION_FAILED and closes the channel.
      if (!outstanding.has(tag)) throw new Error(`unknown delivery tag ${tag}`);
      if (multiple) {
        for (const t of [...outstanding]) if (t <= tag) outstanding.delete(t);
      } else outstanding.delete(tag);
      sent.push(`ack ${tag}${multiple ? '+' : ''}`);
    },
    reject(tag: number, requeue: boolean) {
      if (!outstanding.has(tag)) throw new Error(`unknown delivery tag ${tag}`);
      outstanding.delete(tag);
      sent.push(`reject ${tag}${requeue ? ' requeue' : ''}`);
    },
  };
  return { sent, outstanding, deliver, sink };
}

describe('AckBatcher', () => {
  it('acks a run of in-order settlements with one multiple ack', () => {
    const w = wire();
    w.deliver(5);
    const acks = new AckBatcher(w.sink, 100);
    for (let t = 1; t <= 5; t++) acks.ack(t);
    acks.flush();
    expect(w.sent).toEqual(['ack 5+']);
    expect(w.outstanding.size).toBe(0);
  });

  it('never lets a multiple ack cover a tag still held; acks above it go one by one', () => {
    const w = wire();
    w.deliver(6);
    const acks = new AckBatcher(w.sink, 100);
    // 3 is held (an ETA in memory); 1, 2, 4, 6 finish, out of order.
    for (const t of [4, 2, 1, 6]) acks.ack(t);
    acks.flush();
    expect(w.sent).toEqual(['ack 2+']);
    // 4 and 6 wait one round for the gap to fill; it does not, so they go alone.
    acks.flush();
    expect(w.sent).toEqual(['ack 2+', 'ack 4', 'ack 6']);
    expect([...w.outstanding].sort()).toEqual([3, 5]);
    // When 3 and 5 finish, the floor moves past the tags already acked alone.
    acks.ack(5);
    acks.ack(3);
    acks.flush();
    expect(w.sent.slice(3)).toEqual(['ack 5+']);
    expect(w.outstanding.size).toBe(0);
  });

  it('sends rejects at once and batches acks around them', () => {
    const w = wire();
    w.deliver(4);
    const acks = new AckBatcher(w.sink, 100);
    acks.ack(1);
    acks.reject(2, true);
    acks.ack(3);
    acks.ack(4);
    acks.flush();
    expect(w.sent).toEqual(['reject 2 requeue', 'ack 4+']);
    expect(w.outstanding.size).toBe(0);
  });

  it('flushes on its own on the next turn of the event loop, or at once when the batch is full', async () => {
    const w = wire();
    w.deliver(10);
    const acks = new AckBatcher(w.sink, 3);
    acks.ack(1);
    expect(w.sent).toEqual([]);
    await new Promise((resolve) => setImmediate(resolve));
    expect(w.sent).toEqual(['ack 1+']);
    acks.ack(2);
    acks.ack(3);
    acks.ack(4);
    expect(w.sent).toEqual(['ack 1+', 'ack 4+']);
  });

  it('stays correct over a long random run (tasks finishing out of order)', () => {
    const w = wire();
    const total = 5000;
    w.deliver(total);
    const acks = new AckBatcher(w.sink, 16);
    // Each finishes up to 8 places from where it started, as a pool of 8 would finish them.
    const order = [...Array(total).keys()]
      .map((i) => ({ tag: i + 1, doneAt: i + Math.random() * 8 }))
      .sort((a, b) => a.doneAt - b.doneAt)
      .map((x) => x.tag);
    for (const t of order) {
      if (t % 97 === 0) acks.reject(t, false);
      else acks.ack(t);
    }
    acks.flush();
    expect(w.outstanding.size).toBe(0);
    // Acking each would be 5000 frames; batching makes it a small fraction.
    expect(w.sent.length).toBeLessThan(total / 5);
  });

  it('discard() forgets pending acks (the channel died; the broker requeues them)', () => {
    const w = wire();
    w.deliver(2);
    const acks = new AckBatcher(w.sink, 100);
    acks.ack(1);
    acks.discard();
    acks.flush();
    expect(w.sent).toEqual([]);
  });
});
