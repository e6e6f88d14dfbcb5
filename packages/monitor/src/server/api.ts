import type { Hono } from 'hono';
import { streamSSE } from 'hono/streaming';
import { z } from 'zod';
import type { Monitor } from '../monitor.ts';
import { listTasks, TaskQuerySchema } from '../state/task-query.ts';
import { isAlive } from '../state/worker-state.ts';
import { badRequest, MonitorHttpError, notFound } from './errors.ts';
import type { LiveHub, LiveSummary, LiveUpdate } from './sse.ts';
import { streamBrokerStatus } from './status-api.ts';
import type { MonitorEnv } from './types.ts';

/** Task ids and names are free-form in Celery; we accept anything printable up to 255 characters. */
const ID = /^[^\s/\\]{1,255}$/;

const SendTaskBody = z
  .object({
    args: z.array(z.unknown()).default([]),
    kwargs: z.record(z.string(), z.unknown()).default({}),
    options: z
      .object({
        countdown: z.number().min(0).optional(),
        eta: z.string().datetime({ offset: true }).optional(),
        expires: z.union([z.number().min(0), z.string().datetime({ offset: true })]).optional(),
        queue: z.string().min(1).max(255).optional(),
        priority: z.number().int().min(0).max(255).optional(),
        taskId: z.string().regex(ID).optional(),
      })
      .strict()
      .default({}),
  })
  .strict();

const RevokeBody = z.object({
  terminate: z.union([z.boolean(), z.enum(['true', 'false', 'on'])]).optional(),
  signal: z
    .string()
    .regex(/^(SIG)?[A-Z0-9]{2,10}$/)
    .optional(),
});

export async function readBody(c: {
  req: { header(n: string): string | undefined; json(): Promise<unknown>; parseBody(): Promise<unknown> };
}): Promise<unknown> {
  const type = c.req.header('content-type') ?? '';
  if (type.includes('application/json')) {
    try {
      return await c.req.json();
    } catch {
      throw badRequest('the body is not valid JSON');
    }
  }
  if (type.includes('form')) return c.req.parseBody();
  return {};
}

export function parse<T>(schema: z.ZodType<T>, value: unknown): T {
  const result = schema.safeParse(value);
  if (!result.success) {
    const first = result.error.issues[0];
    throw badRequest(first ? `${first.path.join('.') || 'body'}: ${first.message}` : 'invalid input');
  }
  return result.data;
}

export function checkId(value: string, what: string): string {
  if (!ID.test(value)) throw notFound(what);
  return value;
}

/** The REST API (Flower's paths where Flower has one) and the SSE stream. */
export function registerApi(app: Hono<MonitorEnv>, monitor: Monitor, hub: LiveHub): void {
  const { state } = monitor;

  app.get('/api/workers', async (c) => {
    const refresh = ['1', 'true', 'yes'].includes(c.req.query('refresh') ?? '');
    const only = c.req.query('workername');
    if (refresh) await monitor.inspect(only);
    const out: Record<string, unknown> = {};
    for (const worker of state.workerList()) {
      if (only && worker.hostname !== only) continue;
      out[worker.hostname] = {
        ...worker,
        online: isAlive(worker),
        inspect: monitor.inspections.get(worker.hostname) ?? null,
      };
    }
    return c.json(out);
  });

  app.get('/api/tasks', async (c) =>
    c.json(await listTasks(state, monitor.history, parse(TaskQuerySchema, c.req.query()))),
  );

  app.get('/api/task/info/:id', async (c) => {
    const id = checkId(c.req.param('id'), 'task');
    const task = state.task(id) ?? (await monitor.history?.get(id));
    if (!task) throw notFound(`task ${id}`);
    return c.json(task);
  });

  app.get('/api/task/result/:id', async (c) => {
    const id = checkId(c.req.param('id'), 'task');
    const backend = await monitor.app.backend();
    if (!backend)
      throw new MonitorHttpError(501, 'no_result_backend', 'the app has no result backend configured');
    return c.json(await backend.get(id));
  });

  app.post('/api/task/send-task/:name', async (c) => {
    const name = checkId(c.req.param('name'), 'task name');
    const body = parse(SendTaskBody, await readBody(c));
    const { countdown, eta, expires, queue, priority, taskId } = body.options;
    const result = await monitor.app.sendTask(name, body.args, body.kwargs, {
      ...(countdown !== undefined && { countdown }),
      ...(eta !== undefined && { eta: new Date(eta) }),
      ...(expires !== undefined && { expires: typeof expires === 'number' ? expires : new Date(expires) }),
      ...(queue !== undefined && { queue }),
      ...(priority !== undefined && { priority }),
      ...(taskId !== undefined && { taskId }),
    });
    monitor.logger.info({ task: name, id: result.id, user: c.get('principal').user }, 'monitor: task sent');
    return c.json({ 'task-id': result.id, state: 'PENDING' });
  });

  app.post('/api/task/revoke/:id', async (c) => {
    const id = checkId(c.req.param('id'), 'task');
    const body = parse(RevokeBody, { ...c.req.query(), ...((await readBody(c)) as object) });
    const terminate = body.terminate === true || body.terminate === 'true' || body.terminate === 'on';
    await monitor.app.AsyncResult(id).revoke({ terminate, ...(body.signal && { signal: body.signal }) });
    monitor.logger.warn({ id, terminate, user: c.get('principal').user }, 'monitor: task revoked');
    return c.json({ message: `Revoked '${id}'${terminate ? ' (terminate)' : ''}` });
  });

  // Worker control and task rate/time limits: worker-control-api.ts

  // /api/queues and /api/queues/length: queues-api.ts
  app.get('/api/events', (c) => {
    const seen = versionParam(c.req.header('last-event-id') ?? c.req.query('since'));
    return streamSSE(c, async (stream) => {
      // Each batch carries the hub's version as its SSE id: a reconnecting EventSource sends it back
      // (Last-Event-ID), as a page sends the version it was rendered at (`since`), and gets first
      // what changed after it, so nothing that happened while it was not listening is missed.
      const send = (updates: LiveUpdate[], summary: LiveSummary, version: number) => {
        const id = String(version);
        const tasks = updates.filter((u) => u.event === 'task').map((u) => u.data);
        const workers = updates.filter((u) => u.event === 'worker').map((u) => u.data);
        if (tasks.length) void stream.writeSSE({ event: 'task', data: JSON.stringify(tasks), id });
        if (workers.length) void stream.writeSSE({ event: 'worker', data: JSON.stringify(workers), id });
        void stream.writeSSE({ event: 'summary', data: JSON.stringify(summary), id });
      };
      const unsubscribe = hub.subscribe(send);
      const unsubscribeBroker = streamBrokerStatus(monitor, stream);
      stream.onAbort(() => (unsubscribe(), unsubscribeBroker()));
      send(seen === undefined ? [] : hub.since(seen), hub.summary(), hub.version);
      // A comment every 15 s keeps proxies from closing an idle stream.
      while (!stream.aborted && !stream.closed) {
        await stream.sleep(15_000);
        await stream.write(': ping\n\n');
      }
      unsubscribe();
      unsubscribeBroker();
    });
  });
}

/** `since` / `Last-Event-ID`: a version this monitor's stream or pages handed out. */
function versionParam(text: string | undefined): number | undefined {
  if (text === undefined || text === '') return undefined;
  const version = Number(text);
  if (!/^\d{1,15}$/.test(text) || !Number.isSafeInteger(version))
    throw badRequest(`since: not a version from this monitor's pages or stream: ${text.slice(0, 40)}`);
  return version;
}
