import { Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { ClusterState, StateChange } from '../state/cluster-state.ts';
import { isAlive } from '../state/worker-state.ts';

/**
 * Prometheus metrics under Flower's names and labels (flower/events.py `PrometheusMetrics` and
 * `EventsState.event`), so dashboards and alerts written for Flower keep working. Each monitor
 * has its own registry: several monitors in one process (tests, an embedding app) never collide.
 */
export class MonitorMetrics {
  readonly registry = new Registry();
  private readonly events = new Counter({
    name: 'flower_events_total',
    help: 'Number of events',
    labelNames: ['worker', 'type', 'task'],
    registers: [this.registry],
  });
  private readonly runtime = new Histogram({
    name: 'flower_task_runtime_seconds',
    help: 'Task runtime',
    labelNames: ['worker', 'task'],
    // Flower's default --task_runtime_metric_buckets (prometheus_client's defaults plus +Inf).
    buckets: [0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 0.75, 1, 2.5, 5, 7.5, 10],
    registers: [this.registry],
  });
  private readonly prefetchTime = new Gauge({
    name: 'flower_task_prefetch_time_seconds',
    help: 'The time the task spent waiting at the worker to be processed.',
    labelNames: ['worker', 'task'],
    registers: [this.registry],
  });
  private readonly prefetched = new Gauge({
    name: 'flower_worker_prefetched_tasks',
    help: 'Number of tasks of given type prefetched at a worker',
    labelNames: ['worker', 'task'],
    registers: [this.registry],
  });
  private readonly executing = new Gauge({
    name: 'flower_worker_number_of_currently_executing_tasks',
    help: 'Number of tasks currently executing at a worker',
    labelNames: ['worker'],
    registers: [this.registry],
  });

  constructor(state: ClusterState) {
    // Liveness is computed at scrape time, so a worker that went silent reads 0 without an event.
    new Gauge({
      name: 'flower_worker_online',
      help: 'Worker online status',
      labelNames: ['worker'],
      registers: [this.registry],
      collect() {
        this.reset();
        const now = Date.now() / 1000;
        for (const worker of state.workerList())
          this.labels(worker.hostname).set(isAlive(worker, now) ? 1 : 0);
      },
    });
    state.onChange((change, event) => this.observe(change, event));
  }

  /** Prometheus text exposition. */
  text(): Promise<string> {
    return this.registry.metrics();
  }

  get contentType(): string {
    return this.registry.contentType;
  }

  private observe(change: StateChange, event: Record<string, unknown>): void {
    if (change.kind === 'worker') {
      const worker = change.worker.hostname;
      this.events.labels(worker, change.type, '').inc();
      if (change.type === 'worker-heartbeat' && typeof event.active === 'number')
        this.executing.labels(worker).set(event.active);
      return;
    }
    const { task, type } = change;
    const worker = typeof event.hostname === 'string' ? event.hostname : (task.worker ?? '');
    const name = task.name ?? '';
    this.events.labels(worker, type, name).inc();
    const runtime = event.runtime;
    if (typeof runtime === 'number' && runtime >= 0) this.runtime.labels(worker, name).observe(runtime);
    // Flower leaves ETA tasks out: their wait at the worker is the countdown, not prefetching.
    if (task.eta) return;
    if (type === 'task-received') this.prefetched.labels(worker, name).inc();
    if (type === 'task-started' && task.started !== null && task.received !== null) {
      this.prefetchTime.labels(worker, name).set(task.started - task.received);
      this.prefetched.labels(worker, name).dec();
    }
    if (
      (type === 'task-succeeded' || type === 'task-failed') &&
      task.started !== null &&
      task.received !== null
    )
      this.prefetchTime.labels(worker, name).set(0);
  }
}
