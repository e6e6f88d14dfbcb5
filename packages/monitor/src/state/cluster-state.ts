import { applyTaskEvent, newTask, type TaskRecord } from './task-state.ts';
import { applyWorkerEvent, isAlive, newWorker, type WorkerRecord } from './worker-state.ts';

export interface ClusterStateOptions {
  /** Tasks kept in memory; the least recently updated go first. (Default: 100 000, as Flower's max_tasks) */
  maxTasks?: number;
  /** Workers kept in memory. (Default: 5 000, as celery/events/state.py `max_workers_in_memory`) */
  maxWorkers?: number;
}

export type StateChange =
  { kind: 'task'; task: TaskRecord; type: string } | { kind: 'worker'; worker: WorkerRecord; type: string };

/** Why an event was dropped, for the counters and the log. */
export class MalformedEventError extends Error {
  readonly code = 'MONITOR_MALFORMED_EVENT';
}

/**
 * The cluster as the event stream shows it (celery/events/state.py `State`): workers with their
 * liveness, tasks by uuid with Celery's state precedence. Bounded: an LRU of tasks (a `Map`
 * re-inserted on each update keeps recency order, so the oldest entry is the first key).
 *
 * Events from a foreign or broken worker that lack what Celery itself requires (`hostname`,
 * `timestamp`, and `uuid` for task events) are counted in `counts.malformed` and ignored.
 */
export class ClusterState {
  readonly maxTasks: number;
  readonly maxWorkers: number;
  readonly counts = { events: 0, malformed: 0, evictedTasks: 0 };
  /** Events by type, for the dashboard (Flower's `state.counter`). */
  readonly eventsByType = new Map<string, number>();
  private readonly tasks = new Map<string, TaskRecord>();
  private readonly workers = new Map<string, WorkerRecord>();
  private readonly listeners = new Set<(change: StateChange, event: Record<string, unknown>) => void>();

  constructor(options: ClusterStateOptions = {}) {
    this.maxTasks = options.maxTasks ?? 100_000;
    this.maxWorkers = options.maxWorkers ?? 5_000;
    if (!Number.isInteger(this.maxTasks) || this.maxTasks < 1)
      throw new RangeError(`maxTasks must be a positive integer, got ${this.maxTasks}`);
  }

  /** Called after each applied event with what changed; returns the unsubscribe function. */
  onChange(listener: (change: StateChange, event: Record<string, unknown>) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /**
   * Applies one event. Returns the change, or throws `MalformedEventError` (after counting it)
   * when the event cannot be placed; `event()` is the variant that never throws.
   */
  apply(raw: unknown): StateChange | undefined {
    if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) return this.reject('not an object');
    const event = raw as Record<string, unknown>;
    const { type, hostname } = event;
    if (typeof type !== 'string' || !type) return this.reject('no type');
    if (typeof hostname !== 'string' || !hostname) return this.reject(`${type} without a hostname`);
    if (hostname.length > 255 || type.length > 100) return this.reject('an oversized hostname or type');
    const localReceived = finite(event.local_received) ?? Date.now() / 1000;
    const timestamp = finite(event.timestamp);
    if (timestamp === undefined) return this.reject(`${type} from ${hostname} without a numeric timestamp`);

    let change: StateChange | undefined;
    if (type.startsWith('worker-')) {
      const worker = this.worker(hostname, localReceived);
      applyWorkerEvent(worker, type, localReceived, event);
      change = { kind: 'worker', worker, type };
    } else if (type.startsWith('task-')) {
      const uuid = event.uuid;
      if (typeof uuid !== 'string' || !uuid) return this.reject(`${type} from ${hostname} without a uuid`);
      if (uuid.length > 255)
        return this.reject(`${type} from ${hostname} with a ${uuid.length}-character uuid`);
      this.worker(hostname, localReceived);
      let task = this.tasks.get(uuid);
      if (task) this.tasks.delete(uuid);
      else task = newTask(uuid, timestamp);
      this.tasks.set(uuid, task);
      this.evictTasks();
      applyTaskEvent(task, type, timestamp, hostname, event);
      change = { kind: 'task', task, type };
    }
    this.counts.events++;
    this.eventsByType.set(type, (this.eventsByType.get(type) ?? 0) + 1);
    if (change) for (const listener of this.listeners) listener(change, event);
    return change;
  }

  /** Applies an event; a malformed one is counted and ignored. */
  event(raw: unknown): StateChange | undefined {
    try {
      return this.apply(raw);
    } catch (error) {
      if (error instanceof MalformedEventError) return undefined;
      throw error;
    }
  }

  /** Puts a task back as history had it (no listeners called; an existing newer record wins). */
  restoreTask(task: TaskRecord): void {
    if (this.tasks.has(task.uuid)) return;
    this.tasks.set(task.uuid, task);
    this.evictTasks();
  }

  task(uuid: string): TaskRecord | undefined {
    return this.tasks.get(uuid);
  }

  /** Tasks, most recently updated first. */
  *tasksNewestFirst(): IterableIterator<TaskRecord> {
    const all = [...this.tasks.values()];
    for (let i = all.length - 1; i >= 0; i--) yield all[i]!;
  }

  get taskCount(): number {
    return this.tasks.size;
  }

  workerList(): WorkerRecord[] {
    return [...this.workers.values()].sort((a, b) => a.hostname.localeCompare(b.hostname));
  }

  getWorker(hostname: string): WorkerRecord | undefined {
    return this.workers.get(hostname);
  }

  /** Drops a worker (the monitor's "forget"); its tasks stay. It comes back if it sends events again. */
  forgetWorker(hostname: string): boolean {
    return this.workers.delete(hostname);
  }

  /** Puts a worker back as history had it (no listeners called; a worker already seen wins). */
  restoreWorker(worker: WorkerRecord): void {
    if (this.workers.has(worker.hostname) || this.workers.size >= this.maxWorkers) return;
    this.workers.set(worker.hostname, worker);
  }

  isAlive(hostname: string, nowSeconds?: number): boolean {
    const worker = this.workers.get(hostname);
    return worker !== undefined && isAlive(worker, nowSeconds);
  }

  /** Counts of tasks per state, for the dashboard. */
  stateCounts(): Record<string, number> {
    const counts: Record<string, number> = {};
    for (const task of this.tasks.values()) counts[task.state] = (counts[task.state] ?? 0) + 1;
    return counts;
  }

  private worker(hostname: string, now: number): WorkerRecord {
    let worker = this.workers.get(hostname);
    if (!worker) {
      worker = newWorker(hostname, now);
      this.workers.set(hostname, worker);
      if (this.workers.size > this.maxWorkers) {
        const oldest = this.workers.keys().next().value;
        if (oldest !== undefined) this.workers.delete(oldest);
      }
    }
    return worker;
  }

  private evictTasks(): void {
    while (this.tasks.size > this.maxTasks) {
      const oldest = this.tasks.keys().next().value;
      if (oldest === undefined) break;
      this.tasks.delete(oldest);
      this.counts.evictedTasks++;
    }
  }

  private reject(reason: string): never {
    this.counts.malformed++;
    throw new MalformedEventError(`malformed event: ${reason}`);
  }
}

function finite(value: unknown): number | undefined {
  return typeof value === 'number' && Number.isFinite(value) ? value : undefined;
}
