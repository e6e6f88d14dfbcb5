import type { Celeriac } from '../app/celeriac.ts';
import type { ResolvedWorkerOptions } from './worker-options.ts';

/** What the CLI's start-up banner shows. */
export interface WorkerBanner {
  hostname: string;
  broker: string;
  backend: string;
  queues: string[];
  concurrency: number;
  pool: string;
  prefetch: number;
  tasks: string[];
}

/** The banner facts, with passwords in URLs masked. */
export function workerBanner(
  app: Celeriac,
  options: ResolvedWorkerOptions,
  pool: string,
  brokerUrl: string | undefined,
): WorkerBanner {
  return {
    hostname: options.hostname,
    broker: brokerUrl ?? maskPassword(app.conf.broker),
    backend: app.conf.backend ? maskPassword(app.conf.backend) : 'disabled',
    queues: [...options.queues],
    concurrency: options.concurrency,
    pool,
    prefetch: options.prefetch,
    // Celery's banner hides its builtins (celery.map, celery.starmap, ...) below DEBUG.
    tasks: [...app.tasks.keys()].filter((name) => !name.startsWith('celery.')).sort(),
  };
}

function maskPassword(url: string): string {
  return url.replace(/:[^:@/]*@/, ':**@');
}
