import type { ClusterState, StateChange } from '../state/cluster-state.ts';
import type { TaskRecord, TimelineEntry } from '../state/task-state.ts';
import { heartbeatExpires, isAlive, type WorkerRecord } from '../state/worker-state.ts';

/** A task as the live stream sends it: its newest timeline entry instead of the whole timeline. */
export type LiveTask = Omit<TaskRecord, 'timeline'> & { lastEvent: TimelineEntry | null };

/** A worker as the live stream sends it, with its liveness worked out. */
export type LiveWorker = WorkerRecord & { online: boolean; expires: number | null };

export type LiveUpdate = { event: 'task'; data: LiveTask } | { event: 'worker'; data: LiveWorker };

/** The dashboard's counters, sent with every batch. */
export interface LiveSummary {
  now: number;
  workersOnline: number;
  workersOffline: number;
  states: Record<string, number>;
  events: number;
}

type Subscriber = (updates: LiveUpdate[], summary: LiveSummary, version: number) => void;

/**
 * How long, and how many, recent changes are kept for `since()`: enough to cover a page's render
 * until its stream connects, or a reconnect after a short outage, at a bounded cost.
 */
const RECENT_MS = 60_000;
const RECENT_MAX = 10_000;

interface RecentChange {
  version: number;
  at: number;
  change: StateChange;
}

/**
 * Gathers state changes and hands them to every live connection in batches (every `intervalMs`),
 * keeping only the latest version of each task or worker: a busy cluster costs each browser a
 * few messages a second, not one per event.
 */
export class LiveHub {
  private readonly pending = new Map<string, LiveUpdate>();
  private readonly subscribers = new Set<Subscriber>();
  private timer: NodeJS.Timeout | undefined;
  /** Counts changes: a page carries the version it was rendered at, its stream asks for what came after. */
  private changes = 0;
  /** The latest change of each recently changed task or worker, oldest first (re-inserted on change). */
  private readonly recent = new Map<string, RecentChange>();
  private readonly unsubscribe: () => void;

  constructor(
    private readonly state: ClusterState,
    private readonly intervalMs = 250,
  ) {
    this.unsubscribe = state.onChange((change) => this.add(change));
  }

  subscribe(subscriber: Subscriber): () => void {
    this.subscribers.add(subscriber);
    return () => this.subscribers.delete(subscriber);
  }

  get connections(): number {
    return this.subscribers.size;
  }

  /** The number of changes so far: what a page rendered now has seen. */
  get version(): number {
    return this.changes;
  }

  /**
   * The current state of every task and worker changed after `version` (oldest change first), so a
   * page whose stream connects after it was rendered misses nothing that happened in between.
   * Kept for the last minute (at most 10,000); a version from before that, or from an earlier
   * process (higher than ours), gets all that is kept.
   */
  since(version: number): LiveUpdate[] {
    const from = version > this.changes ? 0 : version;
    const oldest = Date.now() - RECENT_MS;
    const found: LiveUpdate[] = [];
    for (const entry of [...this.recent.values()].reverse()) {
      if (entry.version <= from || entry.at < oldest) break;
      found.push(liveUpdate(entry.change));
    }
    return found.reverse();
  }

  close(): void {
    this.unsubscribe();
    clearTimeout(this.timer);
    this.subscribers.clear();
    this.recent.clear();
  }

  private add(change: StateChange): void {
    const key = change.kind === 'task' ? `t:${change.task.uuid}` : `w:${change.worker.hostname}`;
    // Bounded by count here (one delete at most), by age when read: cheap on the ingest path.
    this.recent.delete(key);
    this.recent.set(key, { version: ++this.changes, at: Date.now(), change });
    if (this.recent.size > RECENT_MAX) this.recent.delete(this.recent.keys().next().value!);
    if (this.subscribers.size === 0) return;
    this.pending.set(key, liveUpdate(change));
    if (!this.timer) {
      this.timer = setTimeout(() => this.flush(), this.intervalMs);
      this.timer.unref();
    }
  }

  private flush(): void {
    this.timer = undefined;
    const updates = [...this.pending.values()];
    this.pending.clear();
    const summary = this.summary();
    for (const subscriber of this.subscribers) subscriber(updates, summary, this.changes);
  }

  summary(): LiveSummary {
    const now = Date.now() / 1000;
    const workers = this.state.workerList();
    const online = workers.filter((w) => isAlive(w, now)).length;
    return {
      now,
      workersOnline: online,
      workersOffline: workers.length - online,
      states: this.state.stateCounts(),
      events: this.state.counts.events,
    };
  }
}

/** A change as the stream sends it, built from the record as it is now. */
function liveUpdate(change: StateChange): LiveUpdate {
  if (change.kind === 'task') {
    // The whole timeline is for the detail page's first load; live, the newest entry is enough.
    const { timeline, ...task } = change.task;
    return { event: 'task', data: { ...task, lastEvent: timeline[timeline.length - 1] ?? null } };
  }
  const worker = change.worker;
  return { event: 'worker', data: { ...worker, online: isAlive(worker), expires: heartbeatExpires(worker) } };
}
