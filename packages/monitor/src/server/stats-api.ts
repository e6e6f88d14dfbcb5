import type { Hono } from 'hono';
import type { Monitor } from '../monitor.ts';
import { timeSeriesFor } from '../state/time-series.ts';
import type { MonitorEnv } from './types.ts';

/** `GET /api/stats`: what the charts draw (see `StatsSnapshot`). */
export function registerStatsApi(app: Hono<MonitorEnv>, monitor: Monitor): void {
  const series = timeSeriesFor(monitor.state);
  app.get('/api/stats', (c) => c.json(series.snapshot()));
}

const number = { type: 'number' };
const numbers = { type: 'array', items: number };
const throughput = {
  type: 'object',
  properties: { interval: number, start: number, succeeded: numbers, failed: numbers },
};

/** Merged into `/openapi.json` by `openapi.ts`. */
export const statsApiPaths = {
  '/api/stats': {
    get: {
      summary:
        'Chart data: tasks finished per second (15 min) and per minute (24 h), runtime percentiles per task name, tasks per state, load/active/processed per worker',
      responses: {
        200: {
          description: 'the numbers; times are epoch seconds, runtimes seconds',
          content: {
            'application/json': {
              schema: {
                type: 'object',
                properties: {
                  now: number,
                  perSecond: throughput,
                  perMinute: throughput,
                  runtimes: {
                    type: 'array',
                    items: {
                      type: 'object',
                      properties: {
                        name: { type: 'string' },
                        count: number,
                        p50: number,
                        p90: number,
                        p99: number,
                        max: number,
                      },
                    },
                  },
                  states: { type: 'object', additionalProperties: number },
                  workers: {
                    type: 'array',
                    items: {
                      type: 'object',
                      properties: {
                        hostname: { type: 'string' },
                        online: { type: 'boolean' },
                        t: numbers,
                        load: numbers,
                        active: numbers,
                        processed: numbers,
                      },
                    },
                  },
                },
              },
            },
          },
        },
        401: { $ref: '#/components/responses/Error' },
      },
    },
  },
};
