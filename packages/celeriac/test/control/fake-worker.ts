import type { Celeriac } from '../../src/app/celeriac.ts';
import type { QueueSpec } from '../../src/transports/transport.ts';
import type { RequestInfo, WorkerIntrospection } from '../../src/worker/introspection.ts';

/** A worker's observable state without a worker: a plain object the mailbox tests can set up. */
export class FakeWorker implements WorkerIntrospection {
  readonly startedAt = Date.now() - 5000;
  readonly poolName = 'async';
  activeTasks: RequestInfo[] = [];
  reservedTasks: RequestInfo[] = [];
  scheduledTasks: Array<{ eta: string; priority: number; request: RequestInfo }> = [];
  readonly revokedIds = new Set<string>();
  readonly revokeCalls: Array<{ ids: string[]; terminate: boolean; signal: string }> = [];
  shutdownCalls = 0;
  consuming: QueueSpec[] = [
    { name: 'celery', bindings: [{ exchange: { name: 'celery', type: 'direct' }, routingKey: 'celery' }] },
  ];

  constructor(
    readonly hostname: string,
    readonly app: Celeriac,
  ) {}

  queues(): QueueSpec[] {
    return this.consuming;
  }
  active(): RequestInfo[] {
    return this.activeTasks;
  }
  reserved(): RequestInfo[] {
    return this.reservedTasks;
  }
  scheduled(): Array<{ eta: string; priority: number; request: RequestInfo }> {
    return this.scheduledTasks;
  }
  revoked(): string[] {
    return [...this.revokedIds];
  }
  processedTotals(): Record<string, number> {
    return { 'tasks.add': 3 };
  }
  concurrency(): number {
    return 4;
  }
  prefetchCount(): number {
    return 16;
  }
  revoke(ids: string[], options: { terminate: boolean; signal: string }): void {
    this.revokeCalls.push({ ids, ...options });
    for (const id of ids) this.revokedIds.add(id);
  }
  shutdown(): void {
    this.shutdownCalls++;
  }
}

export function requestInfo(id: string, name = 'tasks.add', hostname = 'w1@test'): RequestInfo {
  return {
    id,
    name,
    args: [2, 2],
    kwargs: {},
    type: name,
    hostname,
    time_start: Date.now() / 1000,
    acknowledged: true,
    delivery_info: { exchange: '', routing_key: 'celery', priority: 0, redelivered: false },
    worker_pid: process.pid,
  };
}
