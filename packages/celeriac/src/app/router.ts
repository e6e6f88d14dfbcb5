import type { TaskRoute, TaskRouter, TaskRoutes } from './config.ts';
import type { ExchangeSpec, QueueSpec, Route } from '../transports/transport.ts';

/** Where one task message goes and what must exist for it to get there. */
export interface ResolvedRoute {
  queue: QueueSpec;
  route: Route;
  priority: number | undefined;
}

export type ExchangeType = 'direct' | 'topic' | 'fanout';

/**
 * A queue as kombu's `Queue(...)` declares it (kombu/entity.py, `to_rabbitmq_queue_arguments`).
 * Client and worker build the same QueueSpec from it, and so does Python from the same settings,
 * so neither side meets 406 PRECONDITION_FAILED.
 *
 * @example
 * { name: 'urgent', maxPriority: 10 }
 * { name: 'reports', exchange: 'reports', exchangeType: 'topic', routingKey: 'report.#' }
 * { name: 'orders', queueType: 'quorum' }
 */
export interface QueueDeclaration {
  name: string;
  /** Exchange the queue is bound to. (Default: an exchange named like the queue) */
  exchange?: string;
  /** (Default: `direct`) */
  exchangeType?: ExchangeType;
  /** Binding key. (Default: the queue name) */
  routingKey?: string;
  /** `x-max-priority` (1..255); RabbitMQ honours priorities only with it. (Default: app `taskQueueMaxPriority`) */
  maxPriority?: number;
  /**
   * `x-queue-type`. Quorum queues are durable and replicated but have no priorities, no exclusive or
   * auto-delete queues, and no global QoS. (Default: classic, sent as no argument, as Celery)
   */
  queueType?: 'classic' | 'quorum';
  /** `x-expires`: ms of disuse after which RabbitMQ deletes the queue. */
  expiresMs?: number;
  /** `x-message-ttl` in ms. */
  messageTtlMs?: number;
  /** `x-max-length`. */
  maxLength?: number;
  /** `x-max-length-bytes`. */
  maxLengthBytes?: number;
  /** (Default: true) */
  durable?: boolean;
  /** (Default: false) */
  autoDelete?: boolean;
  /** Any other queue arguments, passed as they are. */
  arguments?: Record<string, unknown>;
}

/** A queue declaration that cannot work; the message says which field and why. */
export class QueueDeclarationError extends Error {
  readonly code = 'QUEUE_DECLARATION';
  constructor(message: string) {
    super(message);
    this.name = 'QueueDeclarationError';
  }
}

/** A queue as Celery declares it by default: durable, bound to a direct exchange of the same name. */
export function defaultQueueSpec(name: string): QueueSpec {
  const exchange: ExchangeSpec = { name, type: 'direct', durable: true };
  return { name, durable: true, bindings: [{ exchange, routingKey: name }] };
}

/** The QueueSpec for a declaration; `maxPriority` falls back to `defaultMaxPriority` (task_queue_max_priority). */
export function queueSpecFrom(decl: QueueDeclaration, defaultMaxPriority?: number): QueueSpec {
  const { name } = decl;
  if (typeof name !== 'string' || name === '')
    throw new QueueDeclarationError('a queue needs a non-empty name');
  const where = `queue ${JSON.stringify(name)}`;
  const intIn = (field: string, value: number | undefined, min: number, max = Number.MAX_SAFE_INTEGER) => {
    if (value !== undefined && !(Number.isInteger(value) && value >= min && value <= max)) {
      throw new QueueDeclarationError(
        `${where}: ${field} must be an integer in ${min}..${max}, got ${value}`,
      );
    }
  };
  const quorum = decl.queueType === 'quorum';
  const maxPriority = decl.maxPriority ?? (quorum ? undefined : defaultMaxPriority);
  intIn('maxPriority', maxPriority, 1, 255);
  intIn('expiresMs', decl.expiresMs, 1);
  intIn('messageTtlMs', decl.messageTtlMs, 0);
  intIn('maxLength', decl.maxLength, 0);
  intIn('maxLengthBytes', decl.maxLengthBytes, 0);
  if (decl.queueType !== undefined && decl.queueType !== 'classic' && !quorum) {
    throw new QueueDeclarationError(
      `${where}: queueType must be 'classic' or 'quorum', got ${decl.queueType}`,
    );
  }
  const type = decl.exchangeType ?? 'direct';
  if (!['direct', 'topic', 'fanout'].includes(type)) {
    throw new QueueDeclarationError(`${where}: exchangeType must be direct, topic or fanout, got ${type}`);
  }
  if (quorum) {
    if (maxPriority !== undefined)
      throw new QueueDeclarationError(
        `${where}: quorum queues have no priorities; drop maxPriority or use a classic queue`,
      );
    if (decl.durable === false || decl.autoDelete)
      throw new QueueDeclarationError(`${where}: quorum queues are always durable and never auto-delete`);
  }
  // The order kombu writes them in; RabbitMQ compares the set, not the order.
  const args: Record<string, unknown> = { ...decl.arguments };
  if (maxPriority !== undefined) args['x-max-priority'] = maxPriority;
  if (decl.expiresMs !== undefined) args['x-expires'] = decl.expiresMs;
  if (decl.messageTtlMs !== undefined) args['x-message-ttl'] = decl.messageTtlMs;
  if (decl.maxLength !== undefined) args['x-max-length'] = decl.maxLength;
  if (decl.maxLengthBytes !== undefined) args['x-max-length-bytes'] = decl.maxLengthBytes;
  if (quorum) args['x-queue-type'] = 'quorum';
  const exchange: ExchangeSpec = { name: decl.exchange ?? name, type, durable: true };
  return {
    name,
    durable: decl.durable ?? true,
    autoDelete: decl.autoDelete ?? false,
    ...(Object.keys(args).length > 0 ? { arguments: args } : {}),
    bindings: [{ exchange, routingKey: decl.routingKey ?? name }],
  };
}

/** The app's declared queues by name, checked once; an unknown name gets Celery's missing-queue default. */
export class QueueRegistry {
  private readonly declared = new Map<string, QueueSpec>();

  constructor(
    declarations: readonly QueueDeclaration[] = [],
    private readonly defaultMaxPriority?: number,
  ) {
    for (const decl of declarations) {
      const spec = queueSpecFrom(decl, defaultMaxPriority);
      if (this.declared.has(spec.name))
        throw new QueueDeclarationError(`queue ${JSON.stringify(spec.name)} is declared twice in \`queues\``);
      this.declared.set(spec.name, spec);
    }
  }

  /** The declared queue, or `task_create_missing_queues`' direct queue named like it. */
  get(name: string): QueueSpec {
    return this.declared.get(name) ?? queueSpecFrom({ name }, this.defaultMaxPriority);
  }

  names(): string[] {
    return [...this.declared.keys()];
  }
}

/**
 * Celery's `task_routes` on the client (celery/app/routes.py): the first matching router wins;
 * dict keys are exact names, globs (`*` and `?`) or `/regex/`-style RegExp sources.
 */
export function compileRoutes(routes: TaskRoutes | undefined): TaskRouter[] {
  if (!routes) return [];
  const list = Array.isArray(routes) ? routes : [routes];
  return list.map((entry) => (typeof entry === 'function' ? entry : mapRouter(entry)));
}

function mapRouter(map: Record<string, TaskRoute>): TaskRouter {
  const exact = new Map<string, TaskRoute>();
  const patterns: Array<[RegExp, TaskRoute]> = [];
  for (const [key, route] of Object.entries(map)) {
    if (key.startsWith('/') && key.lastIndexOf('/') > 0) {
      const end = key.lastIndexOf('/');
      patterns.push([new RegExp(key.slice(1, end), key.slice(end + 1)), route]);
    } else if (/[*?[]/.test(key)) {
      patterns.push([globToRegExp(key), route]);
    } else {
      exact.set(key, route);
    }
  }
  return (name) => exact.get(name) ?? patterns.find(([re]) => re.test(name))?.[1];
}

function globToRegExp(glob: string): RegExp {
  const source = glob
    .replace(/[.+^${}()|\\]/g, '\\$&')
    .replace(/\*/g, '.*')
    .replace(/\?/g, '.');
  return new RegExp(`^${source}$`);
}

/**
 * Resolves the queue, exchange and routing key for one call, as `send_task_message` does
 * (celery/app/amqp.py): a direct queue is reached through the default exchange `''` unless both an
 * exchange and a routing key were given; topic and fanout queues get their exchange and key.
 */
export function resolveRoute(
  routers: readonly TaskRouter[],
  name: string,
  args: unknown[],
  kwargs: Record<string, unknown>,
  explicit: { queue?: string; exchange?: string; routingKey?: string; priority?: number },
  fallbackQueue: string,
  queues: Pick<QueueRegistry, 'get'> = { get: defaultQueueSpec },
): ResolvedRoute {
  let routed: TaskRoute | undefined;
  if (explicit.queue === undefined && explicit.exchange === undefined) {
    for (const router of routers) {
      routed = router(name, args, kwargs);
      if (routed !== undefined) break;
    }
  }
  const fromRouter = typeof routed === 'string' ? { queue: routed } : (routed ?? {});
  const queueName = explicit.queue ?? fromRouter.queue ?? fallbackQueue;
  const queue = queues.get(queueName);
  const binding = queue.bindings?.[0];
  const exchangeType = fromRouter.exchangeType ?? binding?.exchange.type ?? 'direct';
  let exchange = explicit.exchange ?? fromRouter.exchange;
  let routingKey = explicit.routingKey ?? fromRouter.routingKey;
  if ((!exchange || !routingKey) && exchangeType === 'direct') {
    exchange = '';
    routingKey = queueName;
  } else {
    exchange ||= binding?.exchange.name ?? queueName;
    routingKey ??= binding?.routingKey ?? queueName;
  }
  return { queue, route: { exchange, routingKey }, priority: explicit.priority ?? fromRouter.priority };
}
