import { hostname as osHostname } from 'node:os';

/**
 * Task events as Celery's worker sends them (§6.2, §6.3; celery/worker/request.py `send_event`,
 * celery/events/dispatcher.py). Field names are Celery's so the events issue can publish them as is.
 */
export interface StandardEventFields {
  type: string;
  hostname: string;
  /** Seconds since the epoch (`time.time()`). */
  timestamp: number;
  /** Hours west of UTC (`time.timezone // 3600`), so UTC+2 is -2. */
  utcoffset: number;
  pid: number;
  /** Lamport clock. */
  clock: number;
}

export interface TaskEventMap {
  'task-received': {
    uuid: string;
    name: string;
    args: string;
    kwargs: string;
    root_id: string;
    parent_id: string | null;
    retries: number;
    eta: string | null;
    expires: string | null;
  };
  'task-started': { uuid: string };
  'task-succeeded': { uuid: string; result: string; runtime: number };
  'task-failed': { uuid: string; exception: string; traceback: string };
  'task-retried': { uuid: string; exception: string; traceback: string };
  'task-revoked': { uuid: string; terminated: boolean; signum: number | string | null; expired: boolean };
  'task-rejected': { uuid: string; requeue: boolean };
}

export type TaskEventType = keyof TaskEventMap;
export type TaskEvent<T extends TaskEventType = TaskEventType> = StandardEventFields &
  TaskEventMap[T] & { type: T };
type Listener<T extends TaskEventType> = (event: TaskEvent<T>) => void;

/**
 * The worker's internal event hook. `wants(type)` is checked before an event is built, so with
 * nobody listening an event costs one Map lookup. Listener errors are swallowed: a monitor must
 * never break task execution.
 */
export class WorkerEvents {
  private readonly listeners = new Map<TaskEventType, Set<Listener<never>>>();
  private clock = 0;
  private readonly pid = process.pid;
  private readonly utcoffset = Math.floor(new Date().getTimezoneOffset() / 60);

  constructor(private readonly hostname: string = osHostname()) {}

  on<T extends TaskEventType>(type: T, listener: Listener<T>): () => void {
    let set = this.listeners.get(type);
    if (!set) this.listeners.set(type, (set = new Set()));
    set.add(listener as Listener<never>);
    return () => this.off(type, listener);
  }

  off<T extends TaskEventType>(type: T, listener: Listener<T>): void {
    const set = this.listeners.get(type);
    if (!set) return;
    set.delete(listener as Listener<never>);
    if (set.size === 0) this.listeners.delete(type);
  }

  wants(type: TaskEventType): boolean {
    return this.listeners.has(type);
  }

  /** Adds the standard fields and calls the listeners; callers check `wants` first. */
  emit<T extends TaskEventType>(type: T, fields: TaskEventMap[T]): void {
    const set = this.listeners.get(type);
    if (!set) return;
    // Callers pass a fresh object literal: fill it in place instead of copying it (hot path under -E).
    const event = fields as unknown as TaskEvent<T> & Record<string, unknown>;
    event.type = type;
    event.hostname = this.hostname;
    event.timestamp = Date.now() / 1000;
    event.utcoffset = this.utcoffset;
    event.pid = this.pid;
    event.clock = ++this.clock;
    for (const listener of set) {
      try {
        (listener as Listener<T>)(event);
      } catch {
        // a listener's bug is not the task's failure
      }
    }
  }
}
