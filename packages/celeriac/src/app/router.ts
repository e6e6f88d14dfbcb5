import type { TaskRoute, TaskRouter, TaskRoutes } from './config.ts';
import type { ExchangeSpec, QueueSpec, Route } from '../transports/transport.ts';

/** Where one task message goes and what must exist for it to get there. */
export interface ResolvedRoute {
  queue: QueueSpec;
  route: Route;
  priority: number | undefined;
}

/** A queue as Celery declares it by default: durable, bound to a direct exchange of the same name. */
export function defaultQueueSpec(name: string): QueueSpec {
  const exchange: ExchangeSpec = { name, type: 'direct', durable: true };
  return { name, durable: true, bindings: [{ exchange, routingKey: name }] };
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
  const source = glob.replace(/[.+^${}()|\\]/g, '\\$&').replace(/\*/g, '.*').replace(/\?/g, '.');
  return new RegExp(`^${source}$`);
}

/** Resolves the queue, exchange and routing key for one call. */
export function resolveRoute(
  routers: readonly TaskRouter[],
  name: string,
  args: unknown[],
  kwargs: Record<string, unknown>,
  explicit: { queue?: string; exchange?: string; routingKey?: string; priority?: number },
  fallbackQueue: string,
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
  const queue = defaultQueueSpec(queueName);
  const exchange = explicit.exchange ?? fromRouter.exchange;
  const routingKey = explicit.routingKey ?? fromRouter.routingKey ?? queueName;
  // Direct queues are published through the default exchange (celery/app/amqp.py send_task_message).
  const route: Route = exchange && exchange !== queueName ? { exchange, routingKey } : { exchange: '', routingKey: queueName };
  return { queue, route, priority: explicit.priority ?? fromRouter.priority };
}
