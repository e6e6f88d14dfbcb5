import { describe, expect, it } from 'vitest';
import {
  compileRoutes,
  QueueDeclarationError,
  QueueRegistry,
  queueSpecFrom,
  resolveRoute,
} from '../../src/app/router.ts';
import { Celeriac } from '../../src/index.ts';

describe('routing: task_routes and queue declarations (§2.1)', () => {
  const queues = new QueueRegistry([
    { name: 'urgent', maxPriority: 10 },
    { name: 'reports', exchange: 'reports', exchangeType: 'topic', routingKey: 'report.#' },
    { name: 'everyone', exchange: 'broadcast', exchangeType: 'fanout', routingKey: '' },
  ]);
  const route = (routes: Parameters<typeof compileRoutes>[0], name: string, explicit = {}) =>
    resolveRoute(compileRoutes(routes), name, [], {}, explicit, 'celery', queues);

  it('matches exact names first, then globs and regexes in order, then functions', () => {
    const routes = [
      { 'proj.a': 'exact', 'proj.*': 'glob', '/^other\\.(x|y)$/': 'regex' },
      (name: string) => (name.startsWith('fn.') ? { queue: 'fromfn', priority: 3 } : undefined),
    ];
    expect(route(routes, 'proj.a').queue.name).toBe('exact');
    expect(route(routes, 'proj.b').queue.name).toBe('glob');
    expect(route(routes, 'other.y').queue.name).toBe('regex');
    expect(route(routes, 'other.z').queue.name).toBe('celery');
    expect(route(routes, 'fn.go')).toMatchObject({ queue: { name: 'fromfn' }, priority: 3 });
    // An explicit queue wins over routes, as `apply_async(queue=...)` does.
    expect(route(routes, 'proj.a', { queue: 'mine' }).queue.name).toBe('mine');
  });

  it('publishes to a direct queue through the default exchange, as send_task_message does', () => {
    expect(route({ t: 'urgent' }, 't').route).toEqual({ exchange: '', routingKey: 'urgent' });
    expect(route({ t: { queue: 'urgent', exchange: 'urgent' } }, 't').route).toEqual({
      exchange: '',
      routingKey: 'urgent',
    });
  });

  it('publishes to a topic or fanout queue through its exchange with the given routing key', () => {
    expect(route({ t: { queue: 'reports', routingKey: 'report.daily' } }, 't').route).toEqual({
      exchange: 'reports',
      routingKey: 'report.daily',
    });
    expect(route({ t: { queue: 'reports' } }, 't').route).toEqual({
      exchange: 'reports',
      routingKey: 'report.#',
    });
    expect(route({ t: 'everyone' }, 't').route).toEqual({ exchange: 'broadcast', routingKey: '' });
  });

  it('builds queue arguments as kombu names them, and a default x-max-priority for undeclared queues', () => {
    expect(
      queueSpecFrom({ name: 'q', maxPriority: 10, expiresMs: 60_000, messageTtlMs: 5000, maxLength: 9 })
        .arguments,
    ).toEqual({ 'x-max-priority': 10, 'x-expires': 60_000, 'x-message-ttl': 5000, 'x-max-length': 9 });
    expect(queueSpecFrom({ name: 'q' }).arguments).toBeUndefined();
    expect(queueSpecFrom({ name: 'q', queueType: 'quorum' }).arguments).toEqual({ 'x-queue-type': 'quorum' });
    const withDefault = new QueueRegistry([], 5);
    expect(withDefault.get('anything').arguments).toEqual({ 'x-max-priority': 5 });
    const app = new Celeriac({ taskQueueMaxPriority: 7, queues: [{ name: 'own', maxPriority: 2 }] });
    expect(app.queueSpec('own').arguments).toEqual({ 'x-max-priority': 2 });
    expect(app.queueSpec('other').arguments).toEqual({ 'x-max-priority': 7 });
  });

  it('rejects declarations that cannot work, saying why', () => {
    const bad = (decl: Parameters<typeof queueSpecFrom>[0]) => () => queueSpecFrom(decl);
    expect(bad({ name: 'q', queueType: 'quorum', maxPriority: 5 })).toThrow(
      /quorum queues have no priorities/,
    );
    expect(bad({ name: 'q', queueType: 'quorum', autoDelete: true })).toThrow(QueueDeclarationError);
    expect(bad({ name: 'q', maxPriority: 300 })).toThrow(/maxPriority must be an integer in 1..255/);
    expect(bad({ name: '' })).toThrow(/non-empty name/);
    expect(bad({ name: 'q', exchangeType: 'headers' as never })).toThrow(/exchangeType/);
    expect(() => new QueueRegistry([{ name: 'a' }, { name: 'a' }])).toThrow(/declared twice/);
    expect(() => new Celeriac({ queues: [{ name: 'q', maxPriority: 0 }] })).toThrow(QueueDeclarationError);
  });
});
