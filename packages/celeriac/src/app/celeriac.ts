import type { ResultBackend } from '../backends/backend.ts';
import { createBackend } from '../backends/create-backend.ts';
import { AsyncResult } from '../result/async-result.ts';
import type { BoundTaskFunction, TaskFunction } from '../task/task.ts';
import { Task } from '../task/task.ts';
import type { ApplyOptions, TaskOptions } from '../task/options.ts';
import { createTransport } from '../transports/create-transport.ts';
import type { Transport } from '../transports/transport.ts';
import { anonNodename, uuid } from '../util/ids.ts';
import { silentLogger, type Logger } from '../util/logger.ts';
import { resolveConfig, type CeleriacOptions, type ResolvedConfig } from './config.ts';
import { Control } from './control.ts';
import { buildTaskMessage } from './message-builder.ts';
import { compileRoutes, QueueRegistry, resolveRoute } from './router.ts';
import { registerCanvasBuiltins } from '../canvas/map.ts';
import { addToParent, taskTuple } from '../canvas/parent-task.ts';
import { checkTaskMessageSize } from '../protocol/size-limits.ts';

/**
 * A Celeriac application: the registry of tasks plus the connections to the broker and the
 * result backend. Connections open lazily on first use and close with `close()`.
 *
 * @example
 * export const app = new Celeriac({ broker: 'amqp://guest:guest@127.0.0.1:5672//', backend: 'redis://127.0.0.1:6379/0' });
 * export const add = app.task('tasks.add', (x: number, y: number) => x + y);
 */
export class Celeriac {
  /** The resolved, frozen configuration; replaced only by `configure()` before connecting. */
  get conf(): ResolvedConfig {
    return this.resolved;
  }
  logger: Logger;
  /** The client's reply address (Celery's thread oid): `reply_to` of every task it sends. */
  readonly oid = uuid();
  /** The sender name in the `origin` header. */
  readonly origin = anonNodename();
  readonly tasks = new Map<string, Task<never[], unknown>>();
  readonly control = new Control(this);
  private resolved: ResolvedConfig;
  private options: CeleriacOptions;
  private routers;
  private queueRegistry: QueueRegistry;
  private transportPromise: Promise<Transport> | undefined;
  private backendPromise: Promise<ResultBackend | undefined> | undefined;
  /** Connections still retrying: close() closes them so their retries stop (issue 8). */
  private readonly connecting = new Set<{ close(): Promise<void> }>();
  /** Bumped by close(): a connection that finishes opening after it is closed, not handed out. */
  private closeCount = 0;
  private readonly declaredQueues = new Map<string, Promise<void>>();

  constructor(options: CeleriacOptions = {}) {
    this.options = { ...options };
    this.resolved = resolveConfig(options);
    this.logger = options.logger ?? silentLogger;
    this.routers = compileRoutes(this.resolved.taskRoutes);
    this.queueRegistry = new QueueRegistry(this.resolved.queues, this.resolved.taskQueueMaxPriority);
    // celery.map / celery.starmap / celery.chunks, so this app's worker runs them as Python's does.
    registerCanvasBuiltins(this);
  }

  /**
   * Overrides options of an app a module built, before it connects: the CLI applies `--broker`,
   * `--result-backend` and friends this way, so flags win over the module's config and the env.
   * Throws once the broker or backend connection was opened (it would keep the old URL).
   *
   * @example
   * app.configure({ broker: 'amqp://guest:guest@rabbit//', concurrency: 4 });
   */
  configure(overrides: Partial<CeleriacOptions>): this {
    if (this.transportPromise || this.backendPromise) {
      throw new Error(
        'app.configure() must be called before the app connects (before the first send, get or worker start)',
      );
    }
    const defined = Object.fromEntries(Object.entries(overrides).filter(([, v]) => v !== undefined));
    const options = { ...this.options, ...defined };
    this.resolved = resolveConfig(options);
    this.options = options;
    if (overrides.logger) this.logger = overrides.logger;
    this.routers = compileRoutes(this.resolved.taskRoutes);
    this.queueRegistry = new QueueRegistry(this.resolved.queues, this.resolved.taskQueueMaxPriority);
    return this;
  }

  /** Registers a task; with `{ bind: true }` the function gets the task context first. */
  task<A extends unknown[], R>(
    name: string,
    fn: BoundTaskFunction<A, R>,
    options: TaskOptions & { bind: true },
  ): Task<A, Awaited<R>>;
  task<A extends unknown[], R>(
    name: string,
    fn: TaskFunction<A, R>,
    options?: TaskOptions & { bind?: false },
  ): Task<A, Awaited<R>>;
  task<A extends unknown[], R>(
    name: string,
    fn: TaskFunction<A, R> | BoundTaskFunction<A, R>,
    options: TaskOptions = {},
  ): Task<A, Awaited<R>> {
    if (this.tasks.has(name)) throw new Error(`task ${JSON.stringify(name)} is already registered`);
    if (typeof fn !== 'function') throw new TypeError(`task ${JSON.stringify(name)}: expected a function`);
    const task = new Task<A, Awaited<R>>(
      this,
      name,
      fn as TaskFunction<A, Awaited<R>>,
      Object.freeze({ ...options }),
    );
    this.tasks.set(name, task as unknown as Task<never[], unknown>);
    return task;
  }

  /** Sends a task by name (it may live in Python); resolves once the broker confirmed it. */
  async sendTask<R = unknown>(
    name: string,
    args: readonly unknown[] = [],
    kwargs: Record<string, unknown> = {},
    options: ApplyOptions = {},
  ): Promise<AsyncResult<R>> {
    if (!Array.isArray(args)) throw new TypeError(`sendTask(${name}): args must be an array`);
    const taskOptions = this.tasks.get(name)?.options;
    const { queue, route, priority } = resolveRoute(
      this.routers,
      name,
      args as unknown[],
      kwargs,
      {
        queue: options.queue ?? taskOptions?.queue,
        exchange: options.exchange,
        routingKey: options.routingKey,
        priority: options.priority ?? taskOptions?.priority,
      },
      this.conf.defaultQueue,
      this.queueRegistry,
    );
    const { id, message } = buildTaskMessage({
      name,
      args,
      kwargs,
      options,
      taskOptions,
      origin: this.origin,
      replyTo: this.oid,
      priority,
    });
    checkTaskMessageSize(message, this.conf.taskMessageMaxBytes);
    const transport = await this.connection();
    await this.declareQueueOnce(transport, queue);
    const ignoreResult = options.ignoreResult ?? taskOptions?.ignoreResult ?? this.conf.ignoreResult;
    if (!ignoreResult && this.conf.backend) {
      const backend = await this.backend();
      await backend?.onTaskSent?.(id);
    }
    await transport.publish(message, route);
    addToParent(taskTuple(id)); // sent from inside a task: listed in its `children`
    return new AsyncResult<R>(id, this);
  }

  /** How a queue is declared: from the `queues` option, else Celery's default direct queue. */
  queueSpec(name: string): import('../transports/transport.ts').QueueSpec {
    return this.queueRegistry.get(name);
  }

  /** A handle on any task's result by id. */
  AsyncResult<R = unknown>(id: string): AsyncResult<R> {
    return new AsyncResult<R>(id, this);
  }

  /** The broker connection, opened on first use. */
  connection(): Promise<Transport> {
    this.transportPromise ??= (async () => {
      const closeCount = this.closeCount;
      const transport = await createTransport(this.conf.broker, {
        logger: this.logger,
        heartbeatMs: this.conf.brokerHeartbeatMs,
        connectionMaxRetries: this.conf.brokerConnectionMaxRetries,
        options: this.conf.brokerOptions,
      });
      return this.openClosable(transport, closeCount, 'broker');
    })();
    this.transportPromise.catch(() => (this.transportPromise = undefined));
    return this.transportPromise;
  }

  /** The result backend, or undefined when none is configured. */
  backend(): Promise<ResultBackend | undefined> {
    const url = this.conf.backend;
    if (!url) return Promise.resolve(undefined);
    this.backendPromise ??= (async () => {
      const closeCount = this.closeCount;
      const backend = await createBackend(url, {
        logger: this.logger,
        resultExpiresMs: this.conf.resultExpiresMs,
        oid: this.oid,
        getBrokerTransport: () => this.connection(),
      });
      return this.openClosable(backend, closeCount, 'result backend');
    })();
    this.backendPromise.catch(() => (this.backendPromise = undefined));
    return this.backendPromise;
  }

  /** The result backend; throws with the fix when none is configured. */
  async requireBackend(): Promise<ResultBackend> {
    const backend = await this.backend();
    if (!backend) {
      throw new Error(
        'no result backend configured: pass `backend` to new Celeriac() or set CELERIAC_RESULT_BACKEND',
      );
    }
    return backend;
  }

  /** Declares a queue (and its exchange and binding) once per connection. */
  declareQueueOnce(
    transport: Transport,
    queue: import('../transports/transport.ts').QueueSpec,
  ): Promise<void> {
    let declared = this.declaredQueues.get(queue.name);
    if (!declared) {
      declared = transport.declareQueue(queue);
      declared.catch(() => this.declaredQueues.delete(queue.name));
      this.declaredQueues.set(queue.name, declared);
    }
    return declared;
  }

  /** Connects `conn`, which close() may end meanwhile (then this rejects with the connect error). */
  private async openClosable<C extends { connect(): Promise<void>; close(): Promise<void> }>(
    conn: C,
    closeCount: number,
    what: string,
  ): Promise<C> {
    if (closeCount !== this.closeCount) {
      await conn.close();
      throw new Error(`the app was closed while opening its ${what} connection`);
    }
    this.connecting.add(conn);
    try {
      await conn.connect();
    } finally {
      this.connecting.delete(conn);
    }
    return conn;
  }

  /** Closes the backend and the broker connection, ending any connect retries under way. */
  async close(): Promise<void> {
    const backend = this.backendPromise;
    const transport = this.transportPromise;
    this.backendPromise = undefined;
    this.transportPromise = undefined;
    this.closeCount++;
    this.declaredQueues.clear();
    const connecting = [...this.connecting];
    this.connecting.clear();
    await Promise.all(connecting.map((conn) => conn.close().catch(() => undefined)));
    await (await backend?.catch(() => undefined))?.close();
    await (await transport?.catch(() => undefined))?.close();
  }
}

/** Same as `new Celeriac(options)`. */
export function createApp(options: CeleriacOptions = {}): Celeriac {
  return new Celeriac(options);
}
