import type { Celeriac } from '../app/celeriac.ts';
import { ok, type ControlPanel } from '../control/control-panel.ts';
import type { LamportClock } from '../control/lamport-clock.ts';
import { createTransport } from '../transports/create-transport.ts';
import type { Transport } from '../transports/transport.ts';
import type { Logger } from '../util/logger.ts';
import type { TaskEvent, TaskEventType, WorkerEvents } from '../worker/events.ts';
import { EventDispatcher } from './dispatcher.ts';
import { loadAverage, softwareInfo, type WorkerEventFields } from './event-types.ts';

/** What the events need from a worker; `Worker` has it all. */
export interface EventSourceWorker {
  readonly hostname: string;
  readonly app: Celeriac;
  readonly events: WorkerEvents;
  readonly options: { readonly sendEvents: boolean };
  activeCount(): number;
  processedTotals(): Record<string, number>;
}

export interface AttachEventsOptions {
  /**
   * Where to publish. (Default: a connection of its own to the app's broker, as Celery's event
   * dispatcher has; it outlives `worker.stop()`, which closes the app's, so events of tasks that
   * finish during a warm shutdown and `worker-offline` still go out)
   */
  transport?: Transport;
  /** The mailbox's Lamport clock, so events and control replies share one. (Default: a new one) */
  clock?: LamportClock;
  /** Send task events (`-E`). (Default: `worker.options.sendEvents`) */
  taskEvents?: boolean;
  /** Send worker-online/-heartbeat/-offline (false = Celery's `--without-heartbeat`). (Default: true) */
  heartbeat?: boolean;
  /** (Default: 2000 ms, celery/worker/heartbeat.py `Heart.interval`) */
  heartbeatIntervalMs?: number;
  /** Task events sent together as one `task.multi` message. (Default: 24) */
  bufferLimit?: number;
  /** (Default: 100 ms) */
  flushIntervalMs?: number;
  /** (Default: `worker.app.logger`) */
  logger?: Logger;
  /** Aborting it while the own connection is still being opened closes it (a worker stopped while starting). */
  signal?: AbortSignal;
}

const TASK_EVENT_TYPES: readonly TaskEventType[] = [
  'task-received',
  'task-started',
  'task-succeeded',
  'task-failed',
  'task-retried',
  'task-revoked',
  'task-rejected',
];

/**
 * A worker's events on the `celeryev` exchange: liveness (celery/worker/heartbeat.py `Heart`) and,
 * when enabled, its task events. Made by `attachEvents`.
 */
export class WorkerEventPublisher {
  private taskEvents = false;
  private heartTimer: NodeJS.Timeout | undefined;
  private stopping: Promise<void> | undefined;

  constructor(
    private readonly worker: EventSourceWorker,
    readonly dispatcher: EventDispatcher,
    private readonly options: {
      logger: Logger;
      heartbeat: boolean;
      heartbeatIntervalMs: number;
      ownTransport: Transport | undefined;
    },
  ) {}

  get taskEventsEnabled(): boolean {
    return this.taskEvents;
  }

  /** Sends `worker-online` and starts the heartbeat. */
  start(): void {
    if (!this.options.heartbeat) return;
    this.dispatcher.send('worker-online', this.liveness(this.options.heartbeatIntervalMs / 1000));
    this.heartTimer = setInterval(
      () => this.dispatcher.send('worker-heartbeat', this.liveness(this.options.heartbeatIntervalMs / 1000)),
      this.options.heartbeatIntervalMs,
    );
    this.heartTimer.unref();
  }

  /** Starts sending task events; false when they already were (`enable_events`). */
  enableTaskEvents(): boolean {
    if (this.taskEvents || this.stopping) return false;
    this.taskEvents = true;
    for (const type of TASK_EVENT_TYPES) this.worker.events.on(type, this.onTaskEvent);
    return true;
  }

  /** Stops sending task events; false when they already were off (`disable_events`). */
  disableTaskEvents(): boolean {
    if (!this.taskEvents) return false;
    this.taskEvents = false;
    for (const type of TASK_EVENT_TYPES) this.worker.events.off(type, this.onTaskEvent);
    this.dispatcher.flush();
    return true;
  }

  /**
   * A heartbeat now, as the pidbox `heartbeat` command asks (celery/worker/control.py `heartbeat`
   * sends `freq=5`; the counters are added so a monitor learns them at once).
   */
  heartbeat(freq = 5): void {
    if (!this.stopping) this.dispatcher.send('worker-heartbeat', this.liveness(freq));
  }

  /**
   * Adds `enable_events`, `disable_events` and `heartbeat` to a mailbox's panel
   * (celery/worker/control.py); replies as Celery's.
   */
  registerControl(panel: ControlPanel): this {
    panel.register('enable_events', (ctx) => {
      if (!this.enableTaskEvents()) return ok('task events already enabled');
      ctx.logger.info('Events of group {task} enabled by remote.');
      return ok('task events enabled');
    });
    panel.register('disable_events', (ctx) => {
      if (!this.disableTaskEvents()) return ok('task events already disabled');
      ctx.logger.info('Events of group {task} disabled by remote.');
      return ok('task events disabled');
    });
    panel.register('heartbeat', (ctx) => {
      ctx.logger.debug('Heartbeat requested by remote.');
      this.heartbeat();
      return null;
    });
    return this;
  }

  /**
   * Stops the heartbeat and task events, flushes, sends `worker-offline`, waits for the broker
   * (bounded) and closes its own connection. Call after `worker.stop()`. Idempotent.
   */
  stop(): Promise<void> {
    this.stopping ??= (async () => {
      clearInterval(this.heartTimer);
      this.disableTaskEvents();
      if (this.options.heartbeat)
        this.dispatcher.send('worker-offline', this.liveness(this.options.heartbeatIntervalMs / 1000));
      await this.dispatcher.close();
      await this.options.ownTransport
        ?.close()
        .catch((error: unknown) =>
          this.options.logger.warn({ err: error }, 'events: closing the connection failed'),
        );
    })();
    return this.stopping;
  }

  // One function for every task event type: no closure per event, nothing but a buffer push.
  private readonly onTaskEvent = (event: TaskEvent): void => {
    this.dispatcher.send(event.type, event);
  };

  private liveness(freq: number): WorkerEventFields {
    let processed = 0;
    for (const n of Object.values(this.worker.processedTotals())) processed += n;
    return {
      freq,
      active: this.worker.activeCount(),
      processed,
      loadavg: loadAverage(),
      ...softwareInfo(),
    };
  }
}

/**
 * Publishes a running worker's events: `worker-online` now, `worker-heartbeat` every 2 s, its task
 * events when enabled, `worker-offline` on `stop()`.
 *
 * @example
 * await worker.start();
 * const mailbox = await startMailbox(worker, await app.connection(), logger);
 * const events = await attachEvents(worker, { clock: mailbox.clock });
 * events.registerControl(mailbox.panel);
 * // ... on shutdown:
 * await mailbox.stop();
 * await worker.stop();
 * await events.stop();
 */
export async function attachEvents(
  worker: EventSourceWorker,
  options: AttachEventsOptions = {},
): Promise<WorkerEventPublisher> {
  const heartbeatIntervalMs = options.heartbeatIntervalMs ?? 2_000;
  if (!(heartbeatIntervalMs > 0))
    throw new RangeError(`heartbeatIntervalMs must be > 0, got ${heartbeatIntervalMs}`);
  const app = worker.app;
  const logger = options.logger ?? app.logger;
  let ownTransport: Transport | undefined;
  let transport = options.transport;
  if (!transport) {
    transport = ownTransport = await createTransport(app.conf.broker, {
      logger,
      heartbeatMs: app.conf.brokerHeartbeatMs,
      connectionMaxRetries: app.conf.brokerConnectionMaxRetries,
      options: app.conf.brokerOptions,
    });
    const connecting = transport;
    const abandon = () => void connecting.close();
    if (options.signal?.aborted) abandon();
    options.signal?.addEventListener('abort', abandon, { once: true });
    try {
      await transport.connect();
    } finally {
      options.signal?.removeEventListener('abort', abandon);
    }
  }
  const dispatcher = new EventDispatcher(transport, {
    hostname: worker.hostname,
    logger,
    clock: options.clock,
    bufferLimit: options.bufferLimit,
    flushIntervalMs: options.flushIntervalMs,
  });
  await dispatcher.start();
  const publisher = new WorkerEventPublisher(worker, dispatcher, {
    logger,
    heartbeat: options.heartbeat ?? true,
    heartbeatIntervalMs,
    ownTransport,
  });
  if (options.taskEvents ?? worker.options.sendEvents) publisher.enableTaskEvents();
  publisher.start();
  return publisher;
}
