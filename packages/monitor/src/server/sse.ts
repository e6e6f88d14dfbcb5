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

type Subscriber = (updates: LiveUpdate[], summary: LiveSummary) => void;

/**
 * Gathers state changes and hands them to every live connection in batches (every `intervalMs`),
 * keeping only the latest version of each task or worker: a busy cluster costs each browser a
 * few messages a second, not one per event.
 */
export class LiveHub {
  private readonly pending = new Map<string, LiveUpdate>();
  private readonly subscribers = new Set<Subscriber>();
  private timer: NodeJS.Timeout | undefined;
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

  close(): void {
    this.unsubscribe();
    clearTimeout(this.timer);
    this.subscribers.clear();
  }

  private add(change: StateChange): void {
    if (this.subscribers.size === 0) return;
    if (change.kind === 'task') {
      // The whole timeline is for the detail page's first load; live, the newest entry is enough.
      const { timeline, ...task } = change.task;
      this.pending.set(`t:${task.uuid}`, {
        event: 'task',
        data: { ...task, lastEvent: timeline[timeline.length - 1] ?? null },
      });
    } else {
      const worker = change.worker;
      this.pending.set(`w:${worker.hostname}`, {
        event: 'worker',
        data: { ...worker, online: isAlive(worker), expires: heartbeatExpires(worker) },
      });
    }
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
    for (const subscriber of this.subscribers) subscriber(updates, summary);
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
