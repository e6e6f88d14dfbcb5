import type { Celeriac } from '../app/celeriac.ts';
import { decodeTaskMessage } from '../protocol/codec.ts';
import type { TaskMessage } from '../protocol/types.ts';
import { States } from '../result/states.ts';
import { NotRegistered } from '../task/errors.ts';
import { toExceptionInfo } from '../result/exceptions.ts';
import { Task } from '../task/task.ts';
import type { Consumer, Delivery, QueueSpec, Transport } from '../transports/transport.ts';
import type { Logger } from '../util/logger.ts';
import { startMailbox, type Mailbox } from '../control/mailbox.ts';
import { LamportClock } from '../control/lamport-clock.ts';
import { attachEvents, type WorkerEventPublisher } from '../events/worker-events.ts';
import { Autoscaler } from './autoscaler.ts';
import { CanvasSteps } from './canvas-steps.ts';
import { EtaSchedule } from './eta-schedule.ts';
import { WorkerEvents } from './events.ts';
import type { RequestInfo, WorkerIntrospection } from './introspection.ts';
import { AsyncPool, type Pool } from './pool.ts';
import { Request } from './request.ts';
import { ResultStore } from './result-store.ts';
import { mingle } from './mingle.ts';
import { RevokedSet } from './revoked-set.ts';
import { ProcessPool } from './process-pool.ts';
import { StateDb } from './statedb.ts';
import { ThreadPool } from './thread-pool.ts';
import { excRepr, TaskRunner } from './task-runner.ts';
import { resolveWorkerOptions, type ResolvedWorkerOptions, type WorkerOptions } from './worker-options.ts';

export type { WorkerOptions } from './worker-options.ts';

/** A control command named a task this worker does not have. */
export class UnknownTaskError extends Error {
  readonly code = 'UNKNOWN_TASK';
  constructor(readonly taskName: string) {
    super(`unknown task ${JSON.stringify(taskName)}`);
    this.name = 'UnknownTaskError';
  }
}

/** pool_grow / pool_shrink that cannot be done. */
export class PoolResizeError extends Error {
  readonly code = 'POOL_RESIZE';
  constructor(message: string) {
    super(message);
    this.name = 'PoolResizeError';
  }
}

/** The worker stopped running: thrown into running tasks' signals at cold shutdown. */
export class WorkerShutdownError extends Error {
  readonly code = 'WORKER_SHUTDOWN';
  constructor() {
    super('the worker is shutting down');
    this.name = 'WorkerShutdown';
  }
}

/**
 * Consumes task queues and runs the tasks (celery/worker/consumer, celery/worker/strategy.py).
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
  private readonly held: EtaSchedule<Request>;
  private readonly statedb: StateDb | undefined;
  /** Set with the `autoscale` option. */
  autoscaler: Autoscaler | undefined;
  private transport: Transport | undefined;
  private runner: TaskRunner | undefined;
  private store: ResultStore | undefined;
  private consumer: Consumer | undefined;
  private currentPrefetch = 0;
  /** concurrency × prefetchMultiplier, following pool_grow/pool_shrink. */
  private basePrefetch = 0;
  /** Queues the main consumer reads (cancel_consumer removes from it). */
  private consumedQueues: string[];
  /** Consumers add_consumer started, by queue. */
  private readonly addedConsumers = new Map<string, { spec: QueueSpec; consumer: Consumer }>();
  private prefetchUpdateQueued = false;
  private state: 'new' | 'starting' | 'running' | 'stopping' | 'stopped' = 'new';
  private stopping: Promise<void> | undefined;
  private forceStop: (() => void) | undefined;
  /** Messages that could not be decoded or named an unknown task. */
  invalidCount = 0;

  constructor(
    readonly app: Celeriac,
    options: WorkerOptions = {},
  ) {
    this.options = resolveWorkerOptions(app, options);
    this.hostname = this.options.hostname;
    this.consumedQueues = [...this.options.queues];
    this.logger = this.options.logger;
    this.events = new WorkerEvents(this.hostname);
    this.pool =
      this.options.pool === 'threads'
        ? new ThreadPool(this.options.concurrency, {
            appModule: this.options.appModule!,
            maxMemoryPerChildMb:
              this.options.maxMemoryPerChildKb &&
              Math.max(1, Math.ceil(this.options.maxMemoryPerChildKb / 1024)),
            logger: this.logger,
          })
        : this.options.pool === 'processes'
          ? new ProcessPool(this.options.concurrency, {
              appModule: this.options.appModule!,
              maxTasksPerChild: this.options.maxTasksPerChild,
              maxMemoryPerChildKb: this.options.maxMemoryPerChildKb,
              logger: this.logger,
            })
          : new AsyncPool(this.options.concurrency);
    this.held = new EtaSchedule<Request>((request) => this.releaseHeld(request));
    if (this.options.statedb) this.statedb = new StateDb(this.options.statedb, this.revokedIds, this.logger);
  }

  get poolName(): string {
    return this.pool.name;
  }

  /** Connects the broker and the backend, declares the queues and starts consuming. */
  async start(): Promise<void> {
    if (this.state !== 'new')
      throw new Error(`worker ${this.hostname} was already started; make a new Worker`);
    this.state = 'starting';
    this.statedb?.load();
    // One Lamport clock for events and remote control, as a Celery worker has.
    const clock = new LamportClock();
    // Attached before consuming, so no task runs unseen.
    if (this.options.heartbeat)
      this.eventPublisher = await attachEvents(this, { clock, logger: this.logger });
    const transport = await this.app.connection();
    const backend = await this.app.backend();
    this.transport = transport;
    for (const queue of this.queues()) await this.app.declareQueueOnce(transport, queue);
    await this.pool.start();
    const store = (this.store = new ResultStore(backend, {
      hostname: this.hostname,
      extended: this.app.conf.resultExtended,
      expiresSeconds: this.app.conf.resultExpiresMs === null ? null : this.app.conf.resultExpiresMs / 1000,
      retryForMs: this.options.resultStoreRetryMs,
      logger: this.logger,
    }));
    this.runner = new TaskRunner({
      app: this.app,
      transport,
      pool: this.pool,
      store,
      canvas: new CanvasSteps(this.app, this.logger),
      events: this.events,
      revoked: this.revokedIds,
      logger: this.logger,
      hostname: this.hostname,
    });
    if (this.options.mingle) {
      await mingle(this.app, this.hostname, this.revokedIds, this.logger, this.options.mingleTimeoutMs);
      this.statedb?.changed();
    }
    this.basePrefetch = this.options.prefetch;
    this.currentPrefetch = this.basePrefetch;
    this.startedAt = Date.now();
    this.state = 'running';
    const scale = this.options.autoscale;
    if (scale) {
      this.autoscaler = new Autoscaler(
        {
          concurrency: () => this.pool.concurrency,
          waitingCount: () => this.runner?.reserved().length ?? 0,
          activeCount: () => this.activeCount(),
          resizePool: (delta) => this.resizePool(delta),
        },
        scale.max,
        scale.min,
        scale.keepaliveMs,
      );
      this.autoscaler.start();
    }
    this.consumer = await transport.consume(
      this.consumedQueues,
      { prefetch: this.currentPrefetch },
      this.onDelivery,
    );
    if (this.options.remoteControl) {
      this.mailbox = await startMailbox(this, transport, this.logger, { clock });
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
    if (options.graceful === false) this.forceStop?.();
    this.stopping ??= this.runShutdown(options.graceful !== false);
    return this.stopping;
  }

  /** Banner facts for the CLI. */
  describe(): {
    hostname: string;
    broker: string;
    backend: string;
    queues: string[];
    concurrency: number;
    pool: string;
    prefetch: number;
    tasks: string[];
  } {
    return {
      hostname: this.hostname,
      broker: this.transport?.safeUrl ?? this.app.conf.broker.replace(/:[^:@/]*@/, ':**@'),
      backend: this.app.conf.backend ? this.app.conf.backend.replace(/:[^:@/]*@/, ':**@') : 'disabled',
      queues: [...this.options.queues],
      concurrency: this.options.concurrency,
      pool: this.pool.name,
      prefetch: this.options.prefetch,
      // Celery's banner hides its builtins (celery.map, celery.starmap, ...) below DEBUG.
      tasks: [...this.app.tasks.keys()].filter((name) => !name.startsWith('celery.')).sort(),
    };
  }

  private readonly onDelivery = (delivery: Delivery): void => {
    if (this.state !== 'running' || !this.runner) {
      delivery.reject(true);
      return;
    }
    let message: TaskMessage;
    try {
      message = decodeTaskMessage(delivery.message);
    } catch (error) {
      return this.rejectInvalid(delivery, error);
    }
    const task = this.app.tasks.get(message.headers.task);
    if (!task) return this.rejectUnknown(delivery, message);
    const request = new Request(message, delivery, task);
    if (this.events.wants('task-received')) {
      const h = message.headers;
      this.events.emit('task-received', {
        uuid: request.id,
        name: request.name,
        args: h.argsrepr,
        kwargs: h.kwargsrepr,
        root_id: h.root_id,
        parent_id: h.parent_id,
        retries: h.retries,
        eta: h.eta,
        expires: h.expires,
      });
    }
    const now = Date.now();
    // Revoked or expired on receipt: settled now, without waiting for a pool slot (celery/worker/strategy.py).
    if (this.revokedIds.has(request.id)) return this.runner.discard(request, 'revoked');
    if (request.isExpired(now)) return this.runner.discard(request, 'expired');
    if (request.etaMs > now) return this.schedule(request, now);
    this.runner.submit(request);
  };

  /** An ETA in the future: hold it (near) or park it in the broker (far; the celery#6760 fix). */
  private schedule(request: Request, now: number): void {
    const transport = this.transport!;
    if (
      request.etaMs - now > this.app.conf.etaParkAfterMs &&
      transport.capabilities.delayedRedelivery &&
      transport.redeliverAt
    ) {
      request.settled = true; // the transport acks it once the parked copy is safe
      transport.redeliverAt(request.delivery, request.etaMs).then(
        () =>
          this.logger.debug(
            { taskId: request.id, eta: request.headers.eta },
            `parked ${request.name}[${request.id}] in the broker until its ETA`,
          ),
        (error: unknown) => {
          this.logger.warn(
            { err: error, taskId: request.id },
            `could not park ${request.name}[${request.id}] in the broker; holding it in memory`,
          );
          request.settled = false;
          if (this.state === 'running') this.hold(request);
          else request.reject(true);
        },
      );
      return;
    }
    this.hold(request);
  }

  private hold(request: Request): void {
    this.held.add(request.etaMs, request);
    this.logger.debug(
      { taskId: request.id, eta: request.headers.eta },
      `holding ${request.name}[${request.id}] until its ETA`,
    );
    this.updatePrefetch();
  }

  private releaseHeld(request: Request): void {
    this.updatePrefetch();
    if (this.state !== 'running' || !this.runner) return request.reject(true);
    this.runner.submit(request);
  }

  /**
   * Widens the prefetch window by the number of held ETA messages so they do not starve the pool
   * (Celery's `qos.increment_eventually`); coalesced so a burst of ETAs costs one basic.qos.
   */
  private updatePrefetch(): void {
    if (this.prefetchUpdateQueued || this.basePrefetch === 0) return;
    this.prefetchUpdateQueued = true;
    queueMicrotask(() => {
      this.prefetchUpdateQueued = false;
      const wanted = this.basePrefetch + this.held.size;
      if (wanted === this.currentPrefetch || !this.consumer || this.state !== 'running') return;
      this.currentPrefetch = wanted;
      this.consumer
        .setPrefetch(wanted)
        .catch((error: unknown) =>
          this.logger.warn({ err: error }, `could not change prefetch to ${wanted}`),
        );
    });
  }

  private rejectInvalid(delivery: Delivery, error: unknown): void {
    this.invalidCount++;
    delivery.reject(false);
    const props = delivery.message.properties;
    const id =
      (typeof props.headers?.id === 'string' && props.headers.id) || props.correlationId || 'unknown';
    this.logger.error(
      { messageId: id, queue: delivery.routingKey, err: error },
      `rejected invalid message ${id} from ${delivery.exchange || '(default exchange)'}/${delivery.routingKey}: ${(error as Error)?.message ?? error}`,
    );
  }

  /** Unknown task name: reject, then store FAILURE NotRegistered as Celery does (§1.6). */
  private rejectUnknown(delivery: Delivery, message: TaskMessage): void {
    this.invalidCount++;
    const name = message.headers.task;
    delivery.reject(false);
    this.logger.error(
      { taskId: message.headers.id, task: name },
      `Received unregistered task of type ${JSON.stringify(name)}. The message has been rejected; is the module that registers it imported by the worker?`,
    );
    const info = toExceptionInfo(new NotRegistered(name));
    if (this.events.wants('task-failed')) {
      this.events.emit('task-failed', { uuid: message.headers.id, exception: excRepr(info), traceback: '' });
    }
    const request = new Request(
      message,
      delivery,
      new Task<never[], unknown>(this.app, name, () => undefined),
    );
    request.settled = true;
    void this.store?.store(request, States.FAILURE, info, null);
  }

  private async runShutdown(graceful: boolean): Promise<void> {
    const runner = this.runner;
    if (this.state === 'new') {
      this.state = 'stopped';
      return;
    }
    this.state = 'stopping';
    this.autoscaler?.stop();
    await this.mailbox?.stop();
    this.logger.info({ hostname: this.hostname, graceful }, graceful ? 'warm shutdown' : 'cold shutdown');
    try {
      await this.consumer?.cancel();
      for (const { consumer } of this.addedConsumers.values()) await consumer.cancel();
      this.addedConsumers.clear();
    } catch (error) {
      this.logger.warn({ err: error }, 'cancelling the consumer failed');
    }
    for (const request of this.held.drain()) request.reject(true);
    if (runner) {
      for (const request of runner.drainWaiting()) request.reject(true);
      if (graceful && runner.running > 0) {
        const forced = new Promise<void>((resolve) => (this.forceStop = resolve));
        await Promise.race([runner.idle(this.app.conf.shutdownGraceMs), forced]);
      }
      if (runner.running > 0) {
        this.logger.warn({ running: runner.running }, `aborting ${runner.running} running task(s)`);
        const reason = new WorkerShutdownError();
        for (const request of runner.active) {
          request.abort(reason);
          if (!request.settled) {
            request.abandoned = true;
            request.reject(true);
          }
        }
        // Tasks that honour their signal end now; give their acked outcomes a moment to be stored.
        await runner.idle(1_000);
      }
    }
    await this.pool.close();
    this.statedb?.trySave();
    await this.app.close();
    // Last: events of tasks that finished during the warm shutdown go out, then worker-offline.
    await this.eventPublisher?.stop();
    this.state = 'stopped';
    this.logger.info({ hostname: this.hostname }, `${this.hostname} stopped`);
  }

  // --- WorkerIntrospection (remote control, §7) ---

  queues(): QueueSpec[] {
    return [
      ...this.consumedQueues.map((name) => this.app.queueSpec(name)),
      ...[...this.addedConsumers.values()].map((c) => c.spec),
    ];
  }

  active(): RequestInfo[] {
    return this.runner ? [...this.runner.active].map((r) => r.info(this.hostname)) : [];
  }

  reserved(): RequestInfo[] {
    return this.runner ? this.runner.reserved().map((r) => r.info(this.hostname)) : [];
  }

  scheduled(): Array<{ eta: string; priority: number; request: RequestInfo }> {
    return this.held.entries().map(({ item }) => ({
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

  /**
   * pool_grow / pool_shrink: changes the tasks run at once by `delta`, and the prefetch window
   * with it. Throws PoolResizeError when the pool cannot (threads) or the result would be < 1.
   */
  resizePool(delta: number): number {
    const next = this.pool.concurrency + delta;
    if (!Number.isInteger(delta) || next < 1)
      throw new PoolResizeError(`pool cannot go to ${next} (from ${this.pool.concurrency})`);
    if (!this.pool.resize(next)) throw new PoolResizeError(`the ${this.pool.name} pool cannot be resized`);
    this.basePrefetch = next * this.options.prefetchMultiplier;
    this.updatePrefetch();
    this.runner?.capacityChanged();
    this.logger.info({ concurrency: next }, `pool ${delta > 0 ? 'grew' : 'shrank'} to ${next}`);
    return next;
  }

  /** add_consumer: declares the queue and starts consuming it; false when already consuming. */
  async addConsumer(spec: QueueSpec): Promise<boolean> {
    if (this.consumedQueues.includes(spec.name) || this.addedConsumers.has(spec.name)) return false;
    if (!this.transport || this.state !== 'running')
      throw new Error(`worker ${this.hostname} is not running`);
    await this.app.declareQueueOnce(this.transport, spec);
    const consumer = await this.transport.consume(
      [spec.name],
      { prefetch: this.currentPrefetch },
      this.onDelivery,
    );
    this.addedConsumers.set(spec.name, { spec, consumer });
    this.logger.info({ queue: spec.name }, `started consuming from ${spec.name}`);
    return true;
  }

  /** cancel_consumer: stops consuming `queue`; false when not consuming it. */
  async cancelConsumer(queue: string): Promise<boolean> {
    const added = this.addedConsumers.get(queue);
    if (added) {
      this.addedConsumers.delete(queue);
      await added.consumer.cancel();
    } else if (this.consumedQueues.includes(queue) && this.transport && this.consumer) {
      // One consumer reads the start-up queues: cancel it and consume the others again.
      this.consumedQueues = this.consumedQueues.filter((q) => q !== queue);
      const old = this.consumer;
      this.consumer = undefined;
      await old.cancel();
      if (this.consumedQueues.length > 0)
        this.consumer = await this.transport.consume(
          this.consumedQueues,
          { prefetch: this.currentPrefetch },
          this.onDelivery,
        );
    } else return false;
    this.logger.info({ queue }, `no longer consuming from ${queue}`);
    return true;
  }

  prefetchCount(): number {
    return this.currentPrefetch;
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
    const task = this.app.tasks.get(taskName);
    if (!task) throw new UnknownTaskError(taskName);
    if (!this.runner) throw new Error(`worker ${this.hostname} is not running`);
    // Task options are frozen, so `inspect registered rate_limit` keeps showing the registered value.
    this.runner.rateLimits.set(taskName, limit);
  }

  /** `time_limit` control command: the task's soft and hard limits in seconds (null = none). */
  setTimeLimits(taskName: string, limits: { soft: number | null; hard: number | null }): void {
    const task = this.app.tasks.get(taskName);
    if (!task) throw new UnknownTaskError(taskName);
    if (!this.runner) throw new Error(`worker ${this.hostname} is not running`);
    this.runner.timeLimits.set(taskName, limits);
  }

  shutdown(): void {
    void this.stop();
  }
}
