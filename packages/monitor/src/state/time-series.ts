import type { ClusterState, StateChange } from './cluster-state.ts';
import type { TaskRecord } from './task-state.ts';
import { isAlive, type WorkerRecord } from './worker-state.ts';

/**
 * The dashboard's numbers over time, fed by `ClusterState` changes: completions per second (15 min)
 * and per minute (24 h), runtime percentiles per task name, and a load/active/processed trace per
 * worker. Every structure is a fixed-size ring, so memory does not grow with traffic: about
 * 30 kB of counters, `maxNames × runtimeSamples` runtimes and `maxWorkers × workerSamples` samples.
 */
export interface TimeSeriesOptions {
  /** Runtimes kept per task name, the newest win. (Default: 512) */
  runtimeSamples?: number;
  /** Task names tracked for runtimes; the least recently finished name goes first. (Default: 100) */
  maxNames?: number;
  /** Workers traced; the least recently heard from goes first. (Default: 50) */
  maxWorkers?: number;
  /** Samples kept per worker (at most one per `workerSampleEverySeconds`). (Default: 180) */
  workerSamples?: number;
  /** (Default: 5, so 180 samples cover 15 min) */
  workerSampleEverySeconds?: number;
  /** Epoch seconds; tests pass a fake clock. (Default: Date.now() / 1000) */
  now?: () => number;
}

/** Counts per bucket, oldest first; `start` is the first bucket's start (epoch seconds). */
export interface ThroughputSeries {
  interval: number;
  start: number;
  succeeded: number[];
  failed: number[];
}

export interface RuntimeStats {
  name: string;
  /** Finished tasks seen (all time, not only the samples kept). */
  count: number;
  /** Seconds, over the newest `runtimeSamples` runtimes. */
  p50: number;
  p90: number;
  p99: number;
  max: number;
}

export interface WorkerSeries {
  hostname: string;
  online: boolean;
  /** Sample times (epoch seconds), oldest first; the other arrays line up with it. */
  t: number[];
  /** 1-minute load average. */
  load: Array<number | null>;
  active: Array<number | null>;
  /** Cumulative tasks processed, as the heartbeat reports it. */
  processed: Array<number | null>;
}

export interface StatsSnapshot {
  now: number;
  perSecond: ThroughputSeries;
  perMinute: ThroughputSeries;
  runtimes: RuntimeStats[];
  states: Record<string, number>;
  workers: WorkerSeries[];
}

const SECONDS = 15 * 60;
const MINUTES = 24 * 60;

/** Counters in fixed time buckets; a slot whose stamp is not the bucket asked for counts as zero. */
class BucketRing {
  private readonly stamps: Float64Array;
  private readonly counts: Uint32Array;

  constructor(
    private readonly size: number,
    private readonly width: number,
    private readonly channels: number,
  ) {
    this.stamps = new Float64Array(size).fill(-1);
    this.counts = new Uint32Array(size * channels);
  }

  add(time: number, channel: number, n = 1): void {
    const bucket = Math.floor(time / this.width);
    const slot = bucket % this.size;
    if (this.stamps[slot] !== bucket) {
      // Only a bucket newer than the one in the slot may take it over: old seeds never erase live data.
      if ((this.stamps[slot] ?? -1) > bucket) return;
      this.stamps[slot] = bucket;
      this.counts.fill(0, slot * this.channels, (slot + 1) * this.channels);
    }
    this.counts[slot * this.channels + channel]! += n;
  }

  /** The last `size` buckets up to and including the one holding `now`. */
  series(now: number): { start: number; channels: number[][] } {
    const last = Math.floor(now / this.width);
    const first = last - this.size + 1;
    const out = Array.from({ length: this.channels }, () => new Array<number>(this.size).fill(0));
    for (let bucket = first; bucket <= last; bucket++) {
      const slot = ((bucket % this.size) + this.size) % this.size;
      if (this.stamps[slot] !== bucket) continue;
      for (let c = 0; c < this.channels; c++)
        out[c]![bucket - first] = this.counts[slot * this.channels + c]!;
    }
    return { start: first * this.width, channels: out };
  }
}

/** The newest runtimes of one task name. */
class RuntimeRing {
  count = 0;
  private readonly samples: Float64Array;

  constructor(size: number) {
    this.samples = new Float64Array(size);
  }

  add(seconds: number): void {
    this.samples[this.count % this.samples.length] = seconds;
    this.count++;
  }

  stats(name: string): RuntimeStats {
    const kept = this.samples.slice(0, Math.min(this.count, this.samples.length)).sort();
    const at = (q: number) => kept[Math.min(kept.length - 1, Math.ceil(q * kept.length) - 1)] ?? 0;
    return { name, count: this.count, p50: at(0.5), p90: at(0.9), p99: at(0.99), max: at(1) };
  }
}

class WorkerRing {
  private next = 0;
  private filled = 0;
  private readonly t: Float64Array;
  private readonly values: Float64Array;

  constructor(private readonly size: number) {
    this.t = new Float64Array(size);
    // load, active, processed per sample; NaN = not reported.
    this.values = new Float64Array(size * 3);
  }

  get lastTime(): number {
    return this.filled === 0 ? -Infinity : this.t[(this.next - 1 + this.size) % this.size]!;
  }

  add(time: number, worker: WorkerRecord): void {
    this.t[this.next] = time;
    this.values[this.next * 3] = worker.loadavg?.[0] ?? NaN;
    this.values[this.next * 3 + 1] = worker.active ?? NaN;
    this.values[this.next * 3 + 2] = worker.processed ?? NaN;
    this.next = (this.next + 1) % this.size;
    this.filled = Math.min(this.filled + 1, this.size);
  }

  series(worker: WorkerRecord, now: number): WorkerSeries {
    const out: WorkerSeries = {
      hostname: worker.hostname,
      online: isAlive(worker, now),
      t: [],
      load: [],
      active: [],
      processed: [],
    };
    const value = (i: number) => (Number.isNaN(this.values[i]) ? null : this.values[i]!);
    for (let k = this.filled; k > 0; k--) {
      const i = (this.next - k + this.size) % this.size;
      out.t.push(this.t[i]!);
      out.load.push(value(i * 3));
      out.active.push(value(i * 3 + 1));
      out.processed.push(value(i * 3 + 2));
    }
    return out;
  }
}

const SUCCEEDED = 0;
const FAILED = 1;

export class TimeSeries {
  private readonly perSecond = new BucketRing(SECONDS, 1, 2);
  private readonly perMinute = new BucketRing(MINUTES, 60, 2);
  private readonly runtimes = new Map<string, RuntimeRing>();
  private readonly workers = new Map<string, { record: WorkerRecord; ring: WorkerRing }>();
  private readonly options: Required<TimeSeriesOptions>;
  private readonly unsubscribe: () => void;

  constructor(
    private readonly state: ClusterState,
    options: TimeSeriesOptions = {},
  ) {
    this.options = {
      runtimeSamples: options.runtimeSamples ?? 512,
      maxNames: options.maxNames ?? 100,
      maxWorkers: options.maxWorkers ?? 50,
      workerSamples: options.workerSamples ?? 180,
      workerSampleEverySeconds: options.workerSampleEverySeconds ?? 5,
      now: options.now ?? (() => Date.now() / 1000),
    };
    for (const [key, value] of Object.entries(this.options)) {
      if (typeof value === 'number' && !(Number.isInteger(value) && value > 0))
        throw new RangeError(`TimeSeries ${key} must be a positive integer, got ${value}`);
    }
    this.seed();
    this.unsubscribe = state.onChange((change) => this.onChange(change));
  }

  close(): void {
    this.unsubscribe();
  }

  snapshot(): StatsSnapshot {
    const now = this.options.now();
    const second = this.perSecond.series(now);
    const minute = this.perMinute.series(now);
    return {
      now,
      perSecond: {
        interval: 1,
        start: second.start,
        succeeded: second.channels[SUCCEEDED]!,
        failed: second.channels[FAILED]!,
      },
      perMinute: {
        interval: 60,
        start: minute.start,
        succeeded: minute.channels[SUCCEEDED]!,
        failed: minute.channels[FAILED]!,
      },
      runtimes: [...this.runtimes]
        .map(([name, ring]) => ring.stats(name))
        .sort((a, b) => b.count - a.count || a.name.localeCompare(b.name)),
      states: this.state.stateCounts(),
      workers: [...this.workers.values()]
        .map(({ record, ring }) => ring.series(record, now))
        .sort((a, b) => a.hostname.localeCompare(b.hostname)),
    };
  }

  /** Tasks already in the state (loaded from history) count where they finished. */
  private seed(): void {
    const since = this.options.now() - MINUTES * 60;
    const finished: TaskRecord[] = [];
    for (const task of this.state.tasksNewestFirst()) {
      const at = task.succeeded ?? task.failed;
      if (at !== null && at >= since) finished.push(task);
    }
    // Oldest first, so the runtime rings keep the newest samples.
    for (let i = finished.length - 1; i >= 0; i--) {
      const task = finished[i]!;
      const at = (task.succeeded ?? task.failed)!;
      this.count(at, task.succeeded !== null ? SUCCEEDED : FAILED);
      if (task.succeeded !== null) this.runtime(task);
    }
  }

  private onChange(change: StateChange): void {
    const now = this.options.now();
    if (change.kind === 'task') {
      if (change.type === 'task-succeeded') {
        this.count(now, SUCCEEDED);
        this.runtime(change.task);
      } else if (change.type === 'task-failed') this.count(now, FAILED);
      return;
    }
    const worker = change.worker;
    let entry = this.workers.get(worker.hostname);
    if (entry) this.workers.delete(worker.hostname);
    else entry = { record: worker, ring: new WorkerRing(this.options.workerSamples) };
    this.workers.set(worker.hostname, entry);
    if (this.workers.size > this.options.maxWorkers) this.workers.delete(this.workers.keys().next().value!);
    // Heartbeats come every 2 s per worker; one sample per interval keeps 15 min in the ring.
    if (
      now - entry.ring.lastTime >= this.options.workerSampleEverySeconds ||
      change.type !== 'worker-heartbeat'
    )
      entry.ring.add(now, worker);
  }

  private count(at: number, channel: number): void {
    this.perSecond.add(at, channel);
    this.perMinute.add(at, channel);
  }

  private runtime(task: TaskRecord): void {
    if (task.runtime === null || !Number.isFinite(task.runtime) || task.runtime < 0) return;
    const name = task.name ?? '(unknown)';
    let ring = this.runtimes.get(name);
    if (ring) this.runtimes.delete(name);
    else ring = new RuntimeRing(this.options.runtimeSamples);
    this.runtimes.set(name, ring);
    if (this.runtimes.size > this.options.maxNames) this.runtimes.delete(this.runtimes.keys().next().value!);
    ring.add(task.runtime);
  }
}

const shared = new WeakMap<ClusterState, TimeSeries>();

/** One `TimeSeries` per state, shared by the stats API and the pages (created on first use). */
export function timeSeriesFor(state: ClusterState): TimeSeries {
  let series = shared.get(state);
  if (!series) shared.set(state, (series = new TimeSeries(state)));
  return series;
}
