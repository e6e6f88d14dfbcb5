import type { ResultMeta } from '../result/meta.ts';

/**
 * Where task states and results are kept. Every implementation passes
 * `test/backend-conformance.ts`.
 */
export interface ResultBackend {
  /** `redis`, `rpc`, `memory`, `sql`: for banners and `stats`. */
  readonly name: string;
  /** The URL without its password. */
  readonly safeUrl: string;
  readonly capabilities: BackendCapabilities;

  connect(): Promise<void>;
  close(): Promise<void>;

  /** Stores a state. SUCCESS is sticky: a later write for the same id does not overwrite it. */
  store(meta: ResultMeta, context: StoreContext): Promise<void>;
  /** The current meta; `{status: 'PENDING'}` when nothing is stored. */
  get(taskId: string): Promise<ResultMeta>;
  /**
   * Resolves with the meta once the task is in a ready state (SUCCESS, FAILURE, REVOKED).
   * Woken by the backend's notification (PUBLISH, reply queue, LISTEN), not by polling where it has one.
   * Rejects with a TimeoutError after `timeoutMs`.
   */
  waitReady(taskId: string, options: { timeoutMs?: number; signal?: AbortSignal }): Promise<ResultMeta>;
  /** Called by the client just before it publishes a task whose result it may wait for. */
  onTaskSent?(taskId: string): Promise<void> | void;
  forget(taskId: string): Promise<void>;
}

export interface BackendCapabilities {
  /** Results survive a restart of the process that stored them. */
  readonly persistent: boolean;
  /** Only the client that sent a task can read its result (rpc://). */
  readonly clientBound: boolean;
}

/** What a worker knows about the message a result belongs to. */
export interface StoreContext {
  /** The request's `reply_to` (rpc replies go there). */
  replyTo?: string;
  correlationId?: string;
  /** Seconds to keep the result; null keeps it forever. */
  expiresSeconds?: number | null;
}
