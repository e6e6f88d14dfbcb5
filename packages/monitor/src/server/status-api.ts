import type { Hono } from 'hono';
import type { SSEStreamingApi } from 'hono/streaming';
import type { Monitor } from '../monitor.ts';
import type { MonitorEnv } from './types.ts';

/** What `GET /api/status` answers: is the monitor seeing the cluster, and is it keeping up. */
export interface MonitorStatus {
  broker: ReturnType<Monitor['broker']['snapshot']>;
  events: {
    /** Events applied to the state. */
    applied: number;
    /** Messages or events dropped as malformed (undecodable bodies, missing or mistyped fields). */
    malformed: number;
    /** Messages read from the `celeryev` queue. */
    messages: number;
  };
  tasks: { inMemory: number; maxInMemory: number; evicted: number };
  history: {
    pending: number;
    written: number;
    failures: number;
    dropped: number;
    pruned: number;
  } | null;
}

export function monitorStatus(monitor: Monitor): MonitorStatus {
  const receiver = monitor.eventCounts;
  const history = monitor.history;
  return {
    broker: monitor.broker.snapshot(),
    events: {
      applied: monitor.state.counts.events,
      malformed: monitor.state.counts.malformed + (receiver?.malformed ?? 0),
      messages: receiver?.messages ?? 0,
    },
    tasks: {
      inMemory: monitor.state.taskCount,
      maxInMemory: monitor.state.maxTasks,
      evicted: monitor.state.counts.evictedTasks,
    },
    history: history ? { pending: history.pending, ...history.counts } : null,
  };
}

/** `GET /api/status`: broker connection, event counts, history backlog. */
export function registerStatusApi(app: Hono<MonitorEnv>, monitor: Monitor): void {
  app.get('/api/status', (c) => c.json(monitorStatus(monitor)));
}

/**
 * Sends a `broker` event on a live stream at once and on every change of the broker connection;
 * returns the unsubscribe function (call it when the stream ends).
 */
export function streamBrokerStatus(monitor: Monitor, stream: SSEStreamingApi): () => void {
  const send = (status: unknown) =>
    void stream.writeSSE({ event: 'broker', data: JSON.stringify(status) }).catch(() => undefined);
  send(monitor.broker.snapshot());
  return monitor.broker.onChange(send);
}

/** OpenAPI paths for the status endpoint (merged by openapi.ts). */
export const statusOpenApiPaths = {
  '/api/status': {
    get: {
      summary: 'Monitor status: broker connection, events and history backlog',
      tags: ['monitor'],
      responses: {
        '200': {
          description:
            '`broker.state` is `connected`, `connecting`, `unreachable` (since `broker.since`, retrying) or `closed`',
          content: { 'application/json': { schema: { type: 'object' } } },
        },
      },
    },
  },
} as const;
