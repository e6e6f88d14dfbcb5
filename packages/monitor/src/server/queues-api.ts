import type { Context, Hono } from 'hono';
import type { Monitor } from '../monitor.ts';
import {
  QUEUE_NAME,
  queueMonitorFor,
  type QueueMonitor,
  type QueueSnapshot,
} from '../queues/queue-monitor.ts';
import { badRequest, MonitorHttpError } from './errors.ts';
import type { MonitorEnv } from './types.ts';

const MAX_ASKED = 20;

/** `?queue=a&queue=b`: names to watch besides the known ones. */
export function askedQueues(c: Context<MonitorEnv>): string[] {
  const names = (c.req.queries('queue') ?? []).map((n) => n.trim()).filter((n) => n !== '');
  if (names.length > MAX_ASKED) throw badRequest(`at most ${MAX_ASKED} queue names at once`);
  for (const name of names) {
    if (!QUEUE_NAME.test(name))
      throw badRequest(`queue: not a queue name: ${JSON.stringify(name.slice(0, 60))}`);
  }
  return [...new Set(names)];
}

export function queuesOf(monitor: Monitor): QueueMonitor {
  return queueMonitorFor(monitor, { ...(monitor.brokerApi && { brokerApi: monitor.brokerApi }) });
}

/** A snapshot, or a 503 that says the broker did not answer (the page shows it and the next visit retries). */
export async function snapshotOrUnavailable(monitor: Monitor, asked: string[]): Promise<QueueSnapshot> {
  try {
    return await queuesOf(monitor).snapshot(asked);
  } catch (error) {
    const reason = error instanceof Error ? error.message : String(error);
    monitor.logger.warn({ err: error }, 'monitor: could not read queue counts');
    throw new MonitorHttpError(503, 'broker_unavailable', `queue counts unavailable: ${reason}`);
  }
}

/** `/api/queues` (every count we have) and Flower's `/api/queues/length`. */
export function registerQueuesApi(app: Hono<MonitorEnv>, monitor: Monitor): void {
  app.get('/api/queues', async (c) => c.json(await snapshotOrUnavailable(monitor, askedQueues(c))));

  app.get('/api/queues/length', async (c) => {
    const snapshot = await snapshotOrUnavailable(monitor, askedQueues(c));
    return c.json({
      active_queues: snapshot.queues.map((q) => ({ name: q.name, messages: q.ready })),
    });
  });
}
