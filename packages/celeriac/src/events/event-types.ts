import os from 'node:os';
import type { ExchangeSpec, Transport } from '../transports/transport.ts';
import type { StandardEventFields, TaskEventMap } from '../worker/events.ts';
import { celeriacVersion } from '../control/version.ts';

export type { StandardEventFields } from '../worker/events.ts';

/** Fields of `worker-online`, `worker-heartbeat` and `worker-offline` (celery/worker/heartbeat.py). */
export interface WorkerEventFields {
  /** Seconds between heartbeats; receivers call a worker dead after `freq × 2` silent seconds. */
  freq: number;
  active?: number;
  processed?: number;
  /** 1, 5 and 15 minute load averages, rounded up to 2 decimals. */
  loadavg?: [number, number, number];
  sw_ident: string;
  sw_ver: string;
  sw_sys: string;
}

/** Every event type Celery sends, with its own fields (§6.3). */
export interface EventMap extends TaskEventMap {
  'task-sent': {
    uuid: string;
    name: string;
    args: string;
    kwargs: string;
    retries: number;
    eta: string | null;
    expires: string | null;
    root_id: string | null;
    parent_id: string | null;
    queue: string;
    exchange: string;
    routing_key: string;
  };
  'task-cancelled': { uuid: string };
  'worker-online': WorkerEventFields;
  'worker-heartbeat': WorkerEventFields;
  'worker-offline': WorkerEventFields;
}

export type EventType = keyof EventMap;
/** An event as it travels: the standard fields plus its own. */
export type CeleryEvent<T extends EventType = EventType> = StandardEventFields & EventMap[T] & { type: T };
/** An event as a receiver hands it out: also `local_received` (epoch seconds), as Celery adds it. */
export type ReceivedEvent<T extends EventType = EventType> = CeleryEvent<T> & { local_received: number };

export const EVENT_EXCHANGE_NAME = 'celeryev';

/**
 * The `celeryev` exchange: topic and durable on AMQP; fanout on Redis, where
 * celery/events/event.py `get_exchange` forces fanout because kombu's Redis transport
 * delivers topic exchanges only to queues, not to pub/sub subscribers.
 */
export function eventExchange(transport: Pick<Transport, 'name'>): ExchangeSpec {
  return {
    name: EVENT_EXCHANGE_NAME,
    type: transport.name === 'redis' ? 'fanout' : 'topic',
    durable: true,
  };
}

/** `task-succeeded` → `task.succeeded` (celery/events/dispatcher.py `publish`). */
export function routingKeyFor(type: string): string {
  return type.replace(/-/g, '.');
}

/**
 * Hours west of UTC as Python's `time.timezone // 3600` (or `altzone` in DST): floor division,
 * so UTC+5:30 gives -6 as in Celery (celery/utils/time.py `utcoffset`).
 */
export function utcoffsetHours(now: Date = new Date()): number {
  return Math.floor(now.getTimezoneOffset() / 60);
}

/** celery/worker/state.py `SOFTWARE_INFO`, honestly ours: Celery's State and Flower only display it. */
export function softwareInfo(): Pick<WorkerEventFields, 'sw_ident' | 'sw_ver' | 'sw_sys'> {
  return { sw_ident: 'celeriac', sw_ver: celeriacVersion(), sw_sys: os.type() };
}

/** `os.getloadavg()` rounded up to 2 decimals (celery/worker/heartbeat.py via `load_average`). */
export function loadAverage(): [number, number, number] {
  const [a = 0, b = 0, c = 0] = os.loadavg();
  const up = (n: number) => Math.ceil(n * 100) / 100;
  return [up(a), up(b), up(c)];
}
