import type { Celeriac } from '../app/celeriac.ts';
import type { QueueSpec } from '../transports/transport.ts';

/**
 * What remote control (inspect/control over pidbox, §7) needs from a running worker.
 * The Worker implements it; the mailbox answers Celery's commands from it.
 */
export interface WorkerIntrospection {
  readonly hostname: string;
  readonly app: Celeriac;
  /** Epoch ms the worker started. */
  readonly startedAt: number;
  /** Pool name: `async`, `threads` or `processes`. */
  readonly poolName: string;
  queues(): QueueSpec[];
  /** Tasks running now. */
  active(): RequestInfo[];
  /** Tasks received and waiting for a pool slot. */
  reserved(): RequestInfo[];
  /** Tasks held for their ETA. */
  scheduled(): Array<{ eta: string; priority: number; request: RequestInfo }>;
  /** Ids in the revoked set. */
  revoked(): string[];
  /** Tasks finished since start, by name (`stats.total`). */
  processedTotals(): Record<string, number>;
  concurrency(): number;
  prefetchCount(): number;
  /** Adds ids to the revoked set; with `terminate`, aborts them if running. */
  revoke(ids: string[], options: { terminate: boolean; signal: string }): void;
  /** Starts a warm shutdown. */
  shutdown(): void;
}

/** A request as `inspect active/reserved` shows it (celery/worker/request.py `info`). */
export interface RequestInfo {
  id: string;
  name: string;
  args: unknown;
  kwargs: unknown;
  type: string;
  hostname: string;
  time_start: number | null;
  acknowledged: boolean;
  delivery_info: { exchange: string; routing_key: string; priority: number | null; redelivered: boolean };
  worker_pid: number | null;
}
