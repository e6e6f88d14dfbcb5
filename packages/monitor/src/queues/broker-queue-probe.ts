import type { Transport } from 'celeriac';
import type { QueueProbe, QueueReading } from './queue-probe.ts';

/**
 * Redis and the in-memory broker (and any transport with `queueStats`): kombu's priority lists and the
 * `unacked` hash on Redis. Neither keeps a consumer count, so `consumers` is null here and the page
 * counts the workers that said (inspect active_queues) they consume the queue instead.
 */
export class BrokerQueueProbe implements QueueProbe {
  readonly broker: string;
  readonly describes: string;

  constructor(private readonly transport: Transport) {
    this.broker = transport.name;
    this.describes =
      transport.name === 'redis'
        ? 'Redis: LLEN over the priority lists; unacked from the unacked hash; consumers from worker replies'
        : `${transport.name}: ready messages only`;
  }

  async probe(queues: readonly string[]): Promise<Map<string, QueueReading>> {
    const fromStats = await readingsFromStats(this.transport, queues);
    if (fromStats) return fromStats;
    const out = new Map<string, QueueReading>();
    for (const queue of queues) {
      const ready = await this.transport.queueLength(queue);
      out.set(queue, { exists: true, ready, unacked: null, consumers: null });
    }
    return out;
  }
}

/**
 * A reading per queue from the transport's own counts (`queueStats`), where it has them: a queue
 * missing from its answer does not exist. Undefined when the transport keeps no such counts.
 */
export async function readingsFromStats(
  transport: Transport,
  queues: readonly string[],
): Promise<Map<string, QueueReading> | undefined> {
  if (!transport.queueStats) return undefined;
  const stats = await transport.queueStats(queues);
  const out = new Map<string, QueueReading>();
  for (const queue of queues) {
    const s = stats.get(queue);
    out.set(
      queue,
      s
        ? { exists: true, ready: s.ready, unacked: s.unacked ?? null, consumers: s.consumers ?? null }
        : { exists: false, ready: null, unacked: null, consumers: null },
    );
  }
  return out;
}
