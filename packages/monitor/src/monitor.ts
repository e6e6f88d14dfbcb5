import { ControlClient, EventReceiver, type Celeriac, type ScheduleStore } from 'celeriac';
import { TaskHistory, type TaskHistoryOptions } from './history/task-history.ts';
import { WorkerHistory } from './history/worker-history.ts';
import { MonitorMetrics } from './server/metrics.ts';
import { BrokerStatus } from './server/status-broker.ts';
import { ClusterState, MalformedEventError } from './state/cluster-state.ts';

type Logger = Celeriac['logger'];

export interface MonitorOptions {
  /** Tasks kept in memory. (Default: 100 000) */
  maxTasks?: number;
  /** Task history in SQL; `false` keeps history in memory only. (Default: SQLite `celeriac-monitor.db`) */
  history?: TaskHistoryOptions | false;
  /** Broadcast `enable_events` this often, so workers started later send task events. (Default: 5000 ms, as Flower; 0 = never) */
  enableEventsIntervalMs?: number;
  /** How long remote-control calls wait for replies. (Default: 1000 ms) */
  inspectTimeoutMs?: number;
  /** (Default: `app.logger`) */
  logger?: Logger;
  /** RabbitMQ management API for the Queues page's rates (Flower's `--broker-api`). */
  brokerApi?: string;
  /**
   * Beat's schedule store, for the Periodic tasks page: an `EditableScheduleStore` such as
   * `SqlScheduleStore` is editable, any other `ScheduleStore` is shown read-only. The caller closes it.
   */
  schedules?: ScheduleStore;
}

/** What `inspect` said about one worker, the last time we asked. */
export interface WorkerInspection {
  at: number;
  stats?: unknown;
  active_queues?: unknown;
  registered?: unknown;
  active?: unknown;
  reserved?: unknown;
  scheduled?: unknown;
  revoked?: unknown;
  conf?: unknown;
}

const INSPECT_METHODS = [
  'stats',
  'active_queues',
  'registered',
  'active',
  'reserved',
  'scheduled',
  'revoked',
  'conf',
] as const;

/** `registered` with the limits each task runs under (`name [rate_limit=10/m time_limit=30]`). */
const INSPECT_ARGS: Partial<Record<(typeof INSPECT_METHODS)[number], Record<string, unknown>>> = {
  registered: { taskinfoitems: ['rate_limit', 'time_limit', 'soft_time_limit'] },
};

/**
 * The monitor's engine: reads the `celeryev` stream into a `ClusterState`, persists tasks to the
 * history, keeps Prometheus metrics and asks workers for details over remote control. The web
 * server (`createMonitorApp`) only reads from it.
 */
export class Monitor {
  readonly state: ClusterState;
  readonly metrics: MonitorMetrics;
  readonly history: TaskHistory | undefined;
  /** Workers seen, kept next to the task history (offline ones survive a restart until forgotten). */
  readonly workerHistory: WorkerHistory | undefined;
  readonly control: ControlClient;
  readonly logger: Logger;
  /** `options.brokerApi`. */
  readonly brokerApi: string | undefined;
  /** Beat's schedule store (`options.schedules`), if any. */
  readonly schedules: ScheduleStore | undefined;
  readonly inspections = new Map<string, WorkerInspection>();
  /** The broker connection as the transport reports it (banner, /api/status, /metrics). */
  readonly broker = new BrokerStatus();
  private receiver: EventReceiver | undefined;
  private enableTimer: NodeJS.Timeout | undefined;
  private started = false;
  private lastMalformedLogMs = 0;

  constructor(
    readonly app: Celeriac,
    private readonly options: MonitorOptions = {},
  ) {
    this.logger = options.logger ?? app.logger;
    this.brokerApi = options.brokerApi;
    this.schedules = options.schedules;
    this.state = new ClusterState({ maxTasks: options.maxTasks });
    this.metrics = new MonitorMetrics(this.state);
    this.broker.registerMetrics(this.metrics.registry);
    this.control = new ControlClient(app);
    if (options.history !== false) {
      this.history = new TaskHistory({
        ...options.history,
        onError: (error) =>
          this.logger.error({ err: error }, 'monitor: could not write task history (will retry)'),
      });
      const history = this.history;
      const workerHistory = (this.workerHistory = new WorkerHistory(() => history.connection, {
        retentionMs: history.retentionMs,
        onError: (error) =>
          this.logger.error({ err: error }, 'monitor: could not write workers (will retry)'),
      }));
      this.state.onChange((change) => {
        if (change.kind === 'task') history.save(change.task);
        else workerHistory.save(change.worker);
      });
    }
  }

  /** Loads history, then starts reading events. */
  async start(): Promise<void> {
    if (this.started) return;
    this.started = true;
    if (this.history) {
      await this.history.open();
      const tasks = await this.history.load(this.state.maxTasks);
      for (const task of tasks) this.state.restoreTask(task);
      this.logger.info(`monitor: loaded ${tasks.length} tasks from history`);
      if (this.workerHistory) {
        await this.workerHistory.open();
        for (const worker of await this.workerHistory.load()) this.state.restoreWorker(worker);
      }
    }
    this.broker.attach(await this.app.connection());
    const receiver = new EventReceiver(this.app, { logger: this.logger });
    receiver.on('*', (event) => this.onEvent(event));
    await receiver.start();
    this.receiver = receiver;
    const every = this.options.enableEventsIntervalMs ?? 5000;
    if (every > 0) {
      void this.enableEvents();
      this.enableTimer = setInterval(() => void this.enableEvents(), every);
      this.enableTimer.unref();
    }
  }

  /** Feeds one event (also what tests and other sources call). */
  onEvent(event: unknown): void {
    try {
      this.state.apply(event);
    } catch (error) {
      if (!(error instanceof MalformedEventError)) throw error;
      // A broken sender can emit thousands a second: one line per 10 s, with the count.
      const now = Date.now();
      if (now - this.lastMalformedLogMs >= 10_000) {
        this.lastMalformedLogMs = now;
        this.logger.warn(
          { reason: error.message, malformedTotal: this.state.counts.malformed },
          `monitor: ignored a ${error.message} (${this.state.counts.malformed} so far)`,
        );
      }
    }
  }

  /** The event receiver's message counts (malformed bodies included), once started. */
  get eventCounts(): EventReceiver['counts'] | undefined {
    return this.receiver?.counts;
  }

  /** How long remote-control calls wait for replies. */
  get inspectTimeoutMs(): number {
    return this.options.inspectTimeoutMs ?? 1000;
  }

  /** Asks every worker (or one) for its details and caches them per worker. */
  async inspect(destination?: string): Promise<Map<string, WorkerInspection>> {
    const target = destination ? { destination: [destination] } : {};
    const timeoutMs = this.inspectTimeoutMs;
    const results = await Promise.all(
      INSPECT_METHODS.map((method) =>
        this.control
          .inspect(method, INSPECT_ARGS[method] ?? {}, { ...target, timeoutMs })
          .catch((error: unknown) => {
            this.logger.warn({ err: error, method }, 'monitor: inspect failed');
            return {} as Record<string, unknown>;
          }),
      ),
    );
    const at = Date.now() / 1000;
    const seen = new Map<string, WorkerInspection>();
    INSPECT_METHODS.forEach((method, i) => {
      for (const [node, reply] of Object.entries(results[i] ?? {})) {
        let entry = seen.get(node);
        if (!entry) seen.set(node, (entry = { at }));
        entry[method] = reply;
      }
    });
    for (const [node, entry] of seen) this.inspections.set(node, entry);
    return seen;
  }

  /**
   * Forgets a worker: out of the state, the inspect cache and the history, so it is not listed
   * again after a restart unless it sends events again. False when it was not known.
   */
  async forgetWorker(hostname: string): Promise<boolean> {
    const known = this.state.forgetWorker(hostname);
    this.inspections.delete(hostname);
    await this.workerHistory?.forget(hostname);
    return known;
  }

  /** Flushes history and stops reading; the app's connections are the caller's to close. */
  async stop(): Promise<void> {
    clearInterval(this.enableTimer);
    await this.receiver?.stop();
    this.receiver = undefined;
    this.broker.stop();
    await this.control.close();
    await this.workerHistory?.close().catch((error: unknown) => {
      this.logger.error({ err: error }, 'monitor: could not write workers on stop');
    });
    await this.history?.close();
    this.started = false;
  }

  private async enableEvents(): Promise<void> {
    try {
      await this.control.cast('enable_events');
    } catch (error) {
      this.logger.debug({ err: error }, 'monitor: enable_events broadcast failed');
    }
  }
}
