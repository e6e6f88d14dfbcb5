import type { BackendCapabilities, ResultBackend, StoreContext } from '../backend.ts';
import { pendingMeta, type ResultMeta } from '../../result/meta.ts';
import { States } from '../../result/states.ts';
import { BackendClosedError } from '../errors.ts';
import { decodeResultMeta, encodeResultMeta } from '../result-json.ts';
import { ResultWaiters } from '../waiters.ts';

const stores = new Map<string, Map<string, { meta: ResultMeta; expiresAt: number }>>();

/** `memory://[name]`: results in this process only, shared by apps that name the same store. */
export class MemoryBackend implements ResultBackend {
  readonly name = 'memory';
  readonly safeUrl: string;
  readonly capabilities: BackendCapabilities = Object.freeze({ persistent: false, clientBound: false });
  private readonly results: Map<string, { meta: ResultMeta; expiresAt: number }>;
  private readonly waiters = new ResultWaiters();

  constructor(url = 'memory://') {
    const name = url.replace(/^memory:\/\//, '').replace(/\/+$/, '') || 'default';
    this.safeUrl = `memory://${name === 'default' ? '' : name}`;
    let results = stores.get(name);
    if (!results) stores.set(name, (results = new Map()));
    this.results = results;
    allWaiters.add(this.waiters);
  }

  async connect(): Promise<void> {}

  async close(): Promise<void> {
    allWaiters.delete(this.waiters);
    this.waiters.cancelAll(new BackendClosedError('memory'));
  }

  async store(meta: ResultMeta, context: StoreContext): Promise<void> {
    // Round-trip through JSON as a real backend would: unencodable results fail here too, and
    // the caller's later mutations of the value do not change what was stored.
    const stored = decodeResultMeta(meta.task_id, encodeResultMeta(meta));
    const current = this.live(meta.task_id);
    if (current?.status === States.SUCCESS) return;
    const expiresAt = context.expiresSeconds == null ? Infinity : Date.now() + context.expiresSeconds * 1000;
    this.results.set(meta.task_id, { meta: stored, expiresAt });
    for (const waiters of allWaiters) waiters.notify(stored);
  }

  async get(taskId: string): Promise<ResultMeta> {
    return this.live(taskId) ?? pendingMeta(taskId);
  }

  waitReady(taskId: string, options: { timeoutMs?: number; signal?: AbortSignal }): Promise<ResultMeta> {
    return this.waiters.wait(taskId, options, async () => this.live(taskId));
  }

  async forget(taskId: string): Promise<void> {
    this.results.delete(taskId);
  }

  private live(taskId: string): ResultMeta | undefined {
    const entry = this.results.get(taskId);
    if (!entry) return undefined;
    if (entry.expiresAt <= Date.now()) {
      this.results.delete(taskId);
      return undefined;
    }
    return entry.meta;
  }
}

/** Waiters of every memory backend in the process, so a worker's app wakes a client's app. */
const allWaiters = new Set<ResultWaiters>();
