import type { Celeriac } from '../app/celeriac.ts';
import type { QueueSpec, Transport } from '../transports/transport.ts';
import type { Logger } from '../util/logger.ts';
import { startMailbox, type Mailbox } from '../control/mailbox.ts';
import { LamportClock } from '../control/lamport-clock.ts';
import { attachEvents, type WorkerEventPublisher } from '../events/worker-events.ts';
import type { Autoscaler } from './autoscaler.ts';
import { createPool } from './create-pool.ts';
import { createRunner } from './create-runner.ts';
import { WorkerEvents } from './events.ts';
import type { PoolStats, RequestInfo, WorkerIntrospection } from './introspection.ts';
import { MessageIntake } from './message-intake.ts';
import type { Pool } from './pool.ts';
import { QueueConsumers } from './queue-consumers.ts';
import type { ResultStore } from './result-store.ts';
import { mingle } from './mingle.ts';
import { RevokedSet } from './revoked-set.ts';
import { shutDownRunner } from './runner-shutdown.ts';
import { StateDb } from './statedb.ts';
import type { TaskRunner } from './task-runner.ts';
import { workerBanner, type WorkerBanner } from './worker-banner.ts';
import { PoolSizer } from './pool-sizer.ts';
import { UnknownTaskError, WorkerStartAbortedError } from './worker-errors.ts';
import { resolveWorkerOptions, type ResolvedWorkerOptions, type WorkerOptions } from './worker-options.ts';

export type { WorkerOptions } from './worker-options.ts';
export {
  PoolResizeError,
  UnknownTaskError,
  WorkerShutdownError,
  WorkerStartAbortedError,
} from './worker-errors.ts';

/**
 * Consumes task queues and runs the tasks (celery/worker/worker.py): owns the pool, the
 * consumers, the runner, remote control and events, and starts and stops them in order.
 *
 * @example
 * const worker = new Worker(app, { queues: ['celery'], concurrency: 10 });
 * await worker.start();
 * process.once('SIGTERM', () => void worker.stop());
 */
export class Worker implements WorkerIntrospection {
  /** Task events with Celery's field names; free when nobody listens. */
  readonly events: WorkerEvents;
  readonly hostname: string;
  readonly options: ResolvedWorkerOptions;
  startedAt = 0;
  /** The remote-control endpoint, with `remoteControl: true` (its `panel` takes more commands). */
  mailbox: Mailbox | undefined;
  private eventPublisher: WorkerEventPublisher | undefined;
  private readonly logger: Logger;
  private readonly pool: Pool;
  private readonly revokedIds = new RevokedSet();
  private readonly statedb: StateDb | undefined;
  private readonly intake: MessageIntake;
  private readonly consumers: QueueConsumers;
  private readonly sizer: PoolSizer;
  private transport: Transport | undefined;
  private runner: TaskRunner | undefined;
  private store: ResultStore | undefined;
  private state: 'new' | 'starting' | 'running' | 'stopping' | 'stopped' = 'new';
  private stopping: Promise<void> | undefined;
  private starting: Promise<void> | undefined;
  private startSettled = false;
  /** Aborted by stop() during start(): connections still retrying close, start() rejects. */
  private readonly startAbort = new AbortController();
  private forceStop!: () => void;
  private readonly forced = new Promise<void>((resolve) => (this.forceStop = resolve));

  constructor(
    readonly app: Celeriac,
    options: WorkerOptions = {},
  ) {
    this.options = resolveWorkerOptions(app, options);
    this.hostname = this.options.hostname;
    this.logger = this.options.logger;
    this.events = new WorkerEvents(this.hostname);
    this.pool = createPool(this.options);
    this.intake = new MessageIntake({
      app,
      events: this.events,
      revoked: this.revokedIds,
      logger: this.logger,
      runner: () => (this.state === 'running' ? this.runner : undefined),
      transport: () => this.transport,
      store: () => this.store,
      heldChanged: () => this.consumers.update(),
    });
    this.consumers = new QueueConsumers({
      app,
      logger: this.logger,
      queues: this.options.queues,
      onDelivery: this.intake.onDelivery,
      heldCount: () => this.intake.held.size,
    });
    this.sizer = new PoolSizer({
      pool: this.pool,
      consumers: this.consumers,
      options: this.options,
      logger: this.logger,
      waitingCount: () => this.runner?.reserved().length ?? 0,
      activeCount: () => this.activeCount(),
      capacityChanged: () => this.runner?.capacityChanged(),
    });
    if (this.options.statedb) this.statedb = new StateDb(this.options.statedb, this.revokedIds, this.logger);
  }

  get poolName(): string {
    return this.pool.name;
  }

  /** Messages that could not be decoded or named an unknown task. */
  get invalidCount(): number {
    return this.intake.invalidCount;
  }

  /**
   * Connects the broker and the backend, declares the queues and starts consuming. A stop() before
   * it is done ends the connect retries and makes it reject with `WorkerStartAbortedError`.
   */
  start(): Promise<void> {
    if (this.state !== 'new')
      return Promise.reject(new Error(`worker ${this.hostname} was already started; make a new Worker`));
    this.state = 'starting';
    this.starting = this.startUp()
      .catch((error: unknown) => {
        if (this.startAbort.signal.aborted)
          throw new WorkerStartAbortedError(this.transport !== undefined, { cause: error });
        throw error;
      })
      .finally(() => (this.startSettled = true));
    return this.starting;
  }

  private async startUp(): Promise<void> {
    // After each step: stop() may have come meanwhile (what a step opened is kept for stop() to close).
    const step = async <T>(work: Promise<T> | T): Promise<T> => {
      const value = await work;
      this.startAbort.signal.throwIfAborted();
      return value;
    };
    this.statedb?.load();
    // One Lamport clock for events and remote control, as a Celery worker has.
    const clock = new LamportClock();
    // Attached before consuming, so no task runs unseen.
    if (this.options.heartbeat) {
      this.eventPublisher = await attachEvents(this, {
        clock,
        logger: this.logger,
        signal: this.startAbort.signal,
      });
      this.startAbort.signal.throwIfAborted();
    }
    const transport = await step(this.app.connection());
    const backend = await step(this.app.backend());
    this.transport = transport;
    for (const queue of this.queues()) await step(this.app.declareQueueOnce(transport, queue));
    await step(this.pool.start());
    ({ store: this.store, runner: this.runner } = createRunner({
      app: this.app,
      options: this.options,
      transport,
      backend,
      pool: this.pool,
      events: this.events,
      revoked: this.revokedIds,
    }));
    if (this.options.mingle) {
      await step(mingle(this.app, this.hostname, this.revokedIds, this.logger, this.options.mingleTimeoutMs));
      this.statedb?.changed();
    }
    this.startedAt = Date.now();
    this.state = 'running';
    this.sizer.startAutoscaler();
    await step(this.consumers.start(transport, this.options.prefetch));
    if (this.options.remoteControl) {
      this.mailbox = await startMailbox(this, transport, this.logger, { clock });
      this.startAbort.signal.throwIfAborted();
      this.eventPublisher?.registerControl(this.mailbox.panel);
    }
    this.logger.info(
      { hostname: this.hostname, queues: this.options.queues, concurrency: this.options.concurrency },
      `${this.hostname} ready.`,
    );
  }

  /**
   * Warm shutdown (default): stop consuming, give held and unstarted messages back, wait up to
   * `shutdownGrace` for running tasks, then abort them and give back what is still unacked.
   * `{ graceful: false }` skips the wait. Idempotent; closes the app's connections at the end.
   */
  stop(options: { graceful?: boolean } = {}): Promise<void> {
    if (options.graceful === false) this.forceStop();
    this.stopping ??= this.runShutdown(options.graceful !== false);
    return this.stopping;
  }

  /** Banner facts for the CLI. */
  describe(): WorkerBanner {
    return workerBanner(this.app, this.options, this.pool.name, this.transport?.safeUrl);
  }

  private async runShutdown(graceful: boolean): Promise<void> {
    if (this.state === 'new') {
      this.state = 'stopped';
      return;
    }
    if (this.starting && !this.startSettled) {
      // Maybe still connecting to a broker that refuses it: stop the retries, let start() unwind.
      this.logger.info({ hostname: this.hostname }, 'stopped while starting');
      this.startAbort.abort();
      if (this.state === 'starting') await this.app.close();
      await this.starting.catch(() => undefined);
    }
    this.state = 'stopping';
    this.sizer.stop();
    await this.mailbox?.stop();
    this.logger.info({ hostname: this.hostname, graceful }, graceful ? 'warm shutdown' : 'cold shutdown');
    await this.consumers.stop();
    for (const request of this.intake.held.drain()) request.reject(true);
    if (this.runner) {
      await shutDownRunner(this.runner, {
        graceful,
        graceMs: this.app.conf.shutdownGraceMs,
        forced: this.forced,
        logger: this.logger,
      });
    }
    await this.pool.close();
    this.statedb?.trySave();
    await this.app.close();
    // Last: events of tasks that finished during the warm shutdown go out, then worker-offline.
    await this.eventPublisher?.stop();
    this.state = 'stopped';
    this.logger.info({ hostname: this.hostname }, `${this.hostname} stopped`);
  }

  // --- WorkerIntrospection and run-time control (remote control, §7) ---

  queues(): QueueSpec[] {
    return this.consumers.specs();
  }

  active(): RequestInfo[] {
    return this.runner ? [...this.runner.active].map((r) => r.info(this.hostname)) : [];
  }

  reserved(): RequestInfo[] {
    return this.runner ? this.runner.reserved().map((r) => r.info(this.hostname)) : [];
  }

  scheduled(): Array<{ eta: string; priority: number; request: RequestInfo }> {
    return this.intake.held.entries().map(({ item }) => ({
      eta: item.headers.eta ?? '',
      priority: item.message.priority ?? 0,
      request: item.info(this.hostname),
    }));
  }

  revoked(): string[] {
    return this.revokedIds.list();
  }

  processedTotals(): Record<string, number> {
    return this.runner ? Object.fromEntries(this.runner.processed) : {};
  }

  /** Tasks running now. */
  activeCount(): number {
    return this.runner?.running ?? 0;
  }

  concurrency(): number {
    return this.pool.concurrency;
  }

  poolStats(): PoolStats {
    return {
      processes: this.pool.workerIds(),
      'max-tasks-per-child': this.options.pool !== 'async' ? (this.options.maxTasksPerChild ?? 'N/A') : 'N/A',
      'pending-result-stores': this.runner?.pendingStores ?? 0,
      'lost-results': this.runner?.background.failed ?? 0,
    };
  }

  /**
   * pool_grow / pool_shrink: changes the tasks run at once by `delta`, and the prefetch window
   * with it. Throws PoolResizeError when the pool cannot or the result would be < 1.
   */
  resizePool(delta: number): number {
    return this.sizer.resize(delta);
  }

  /** Set with the `autoscale` option, once started. */
  get autoscaler(): Autoscaler | undefined {
    return this.sizer.autoscaler;
  }

  /** add_consumer: declares the queue and starts consuming it; false when already consuming. */
  async addConsumer(spec: QueueSpec): Promise<boolean> {
    if (this.state !== 'running') throw new Error(`worker ${this.hostname} is not running`);
    return this.consumers.add(spec);
  }

  /** cancel_consumer: stops consuming `queue`; false when not consuming it. */
  cancelConsumer(queue: string): Promise<boolean> {
    return this.consumers.cancel(queue);
  }

  prefetchCount(): number {
    return this.consumers.prefetch;
  }

  revoke(
    ids: string[],
    options: { terminate: boolean; signal: string } = { terminate: false, signal: 'SIGTERM' },
  ): void {
    for (const id of ids) this.revokedIds.add(id);
    this.statedb?.changed();
    if (!options.terminate || !this.runner) return;
    const wanted = new Set(ids);
    for (const request of [...this.runner.active]) {
      if (wanted.has(request.id)) this.runner.terminate(request, options.signal);
    }
  }

  /**
   * `rate_limit` control command: `'10/s'`, `'100/m'`, `'1/h'`, a number per second, or
   * 0/''/null for none. Throws RateLimitError for a string that does not parse, UnknownTaskError
   * for a task this worker does not have.
   */
  setRateLimit(taskName: string, limit: unknown): void {
    this.runningRunner(taskName).rateLimits.set(taskName, limit);
  }

  /** `time_limit` control command: the task's soft and hard limits in seconds (null = none). */
  setTimeLimits(taskName: string, limits: { soft: number | null; hard: number | null }): void {
    this.runningRunner(taskName).timeLimits.set(taskName, limits);
  }

  shutdown(): void {
    void this.stop();
  }

  /** The runner, for a control command about `taskName`; task options stay frozen as registered. */
  private runningRunner(taskName: string): TaskRunner {
    if (!this.app.tasks.has(taskName)) throw new UnknownTaskError(taskName);
    if (!this.runner) throw new Error(`worker ${this.hostname} is not running`);
    return this.runner;
  }
}
