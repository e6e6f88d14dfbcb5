import type { Context, Hono } from 'hono';
import { z } from 'zod';
import type { Monitor } from '../monitor.ts';
import type { PageContext } from '../ui/layout.ts';
import { checkId, parse, readBody } from './api.ts';
import { badRequest, MonitorHttpError, notFound } from './errors.ts';
import type { MonitorEnv } from './types.ts';

const RATE = /^\d+(\.\d+)?(\/[smh])?$/;

const RateLimitBody = z.object({
  ratelimit: z.union([
    z.string().trim().regex(RATE, "use '<n>/s', '<n>/m' or '<n>/h' (e.g. 10/m), or 0 for none"),
    z.number().min(0),
  ]),
  workername: z.string().min(1).optional(),
});

/** Seconds; empty (a blank form field) or absent means "no limit". */
const Seconds = z.preprocess(
  (v) => (v === '' || v === null ? undefined : v),
  z.coerce.number({ message: 'must be a number of seconds' }).finite().min(0).optional(),
);

const TimeoutBody = z
  .object({ soft: Seconds, hard: Seconds, workername: z.string().min(1).optional() })
  .refine((b) => b.soft === undefined || b.hard === undefined || b.hard === 0 || b.soft <= b.hard, {
    message: 'the soft limit must not be longer than the hard one (it would never fire)',
    path: ['soft'],
  });

const NBody = z.object({ n: z.coerce.number().int().min(1).max(100).default(1) });
const QueueBody = z.object({ queue: z.string().trim().min(1).max(255) });
const AutoscaleBody = z
  .object({ max: z.coerce.number().int().min(1).max(1000), min: z.coerce.number().int().min(0).max(1000) })
  .refine((b) => b.min <= b.max, { message: 'min must not be above max', path: ['min'] });

/** The task of a rate/time limit call: the path's, else the `taskname` field. */
function taskNameOf(c: Context<MonitorEnv>, input: Record<string, unknown>): string {
  const name = c.req.param('name') ?? input.taskname;
  if (typeof name !== 'string' || name === '') throw badRequest('taskname: which task (e.g. tasks.add)');
  return name;
}

interface ControlOutcome {
  /** The worker page to return to (plain form posts). */
  worker?: string;
  body: { message: string } & Record<string, unknown>;
}

/**
 * Worker remote control over REST, on Flower's paths (`/api/worker/...`, `/api/task/rate-limit`,
 * `/api/task/timeout`), plus `/api/worker/forget`. Each call that names a worker answers 404 for
 * one the monitor has never seen, 400 for bad input, 504 when the worker does not answer and 403
 * (404 for "unknown task") when it refuses, with the worker's own words.
 *
 * The worker page's forms post here as JSON from script; without script they post a plain form
 * with `_page` set, and get a redirect back to the worker page with the reply in its query string.
 */
export function registerWorkerControlApi(
  app: Hono<MonitorEnv>,
  monitor: Monitor,
  pageContext: (c: Context<MonitorEnv>) => PageContext,
): void {
  const { state } = monitor;

  const knownWorker = (name: string): string => {
    checkId(name, `worker ${name}`);
    if (!state.getWorker(name)) throw notFound(`worker ${name}`);
    return name;
  };

  /** One worker's answer to a command, or the HTTP error that says why there is none. */
  const ask = async (
    c: Context<MonitorEnv>,
    worker: string,
    method: string,
    args: Record<string, unknown>,
  ): Promise<string> => {
    monitor.logger.warn({ worker, method, args, user: c.get('principal').user }, `monitor: ${method} sent`);
    const replies = await monitor.control.inspect(method, args, {
      destination: [worker],
      timeoutMs: monitor.inspectTimeoutMs,
    });
    const reply = replies[worker] as { ok?: unknown; error?: unknown } | undefined;
    if (!reply) throw new MonitorHttpError(504, 'no_reply', `${worker} did not answer ${method}`);
    if (reply.error !== undefined) {
      const text = String(reply.error);
      if (/unknown task/i.test(text)) throw new MonitorHttpError(404, 'unknown_task', `${worker}: ${text}`);
      throw new MonitorHttpError(403, 'refused', `${worker}: ${text}`);
    }
    return String(reply.ok ?? 'ok');
  };

  const route = (
    path: string,
    handler: (c: Context<MonitorEnv>, input: Record<string, unknown>) => Promise<ControlOutcome>,
  ) =>
    app.post(path, async (c) => {
      const body = (await readBody(c)) as Record<string, unknown>;
      const input: Record<string, unknown> = { ...c.req.query(), ...body };
      const fromPage = /form/.test(c.req.header('content-type') ?? '') && '_page' in body;
      if (!fromPage) {
        const outcome = await handler(c, input);
        return c.json(outcome.body);
      }
      // The control's key names an element id on the page: nothing else gets into the URL.
      const control = /^[a-z0-9-]{1,60}$/.test(String(input._page)) ? String(input._page) : 'control';
      let outcome: ControlOutcome | undefined;
      let error: string | undefined;
      try {
        outcome = await handler(c, input);
      } catch (e) {
        if (!(e instanceof MonitorHttpError)) throw e;
        error = e.message;
      }
      // Forget succeeds without a worker to return to (its page is gone): back to the list then.
      const worker = outcome ? outcome.worker : typeof input._worker === 'string' ? input._worker : undefined;
      const query = new URLSearchParams({ control, ...(error ? { error } : { ok: outcome!.body.message }) });
      const base = pageContext(c).base;
      const target = worker ? `${base}/worker/${encodeURIComponent(worker)}` : `${base}/workers`;
      return c.redirect(`${target}?${query}#control-${control}`, 303);
    });

  const workerCommand = (path: string, method: string, args: (input: unknown) => Record<string, unknown>) =>
    route(`/api/worker/${path}/:name`, async (c, input) => {
      const name = knownWorker(c.req.param('name')!);
      return { worker: name, body: { message: await ask(c, name, method, args(input)) } };
    });

  workerCommand('pool/grow', 'pool_grow', (b) => ({ n: parse(NBody, b).n }));
  workerCommand('pool/shrink', 'pool_shrink', (b) => ({ n: parse(NBody, b).n }));
  workerCommand('pool/autoscale', 'autoscale', (b) => parse(AutoscaleBody, b));
  workerCommand('queue/add-consumer', 'add_consumer', (b) => ({ queue: parse(QueueBody, b).queue }));
  workerCommand('queue/cancel-consumer', 'cancel_consumer', (b) => ({ queue: parse(QueueBody, b).queue }));

  route('/api/worker/shutdown/:name', async (c) => {
    const name = knownWorker(c.req.param('name')!);
    monitor.logger.warn({ worker: name, user: c.get('principal').user }, 'monitor: shutdown sent');
    // Celery's shutdown has no reply (the worker is going away).
    await monitor.control.cast('shutdown', {}, { destination: [name] });
    return { worker: name, body: { message: `Shutting down ${name}` } };
  });

  route('/api/worker/forget/:name', async (c) => {
    const name = knownWorker(c.req.param('name')!);
    await monitor.forgetWorker(name);
    monitor.logger.info({ worker: name, user: c.get('principal').user }, 'monitor: worker forgotten');
    // Back to the list: the worker's own page no longer exists.
    return { body: { message: `Forgot ${name}` } };
  });

  /** Rate and time limits go to one worker (`workername`) or, without it, to every worker. */
  const taskLimit = async (
    c: Context<MonitorEnv>,
    method: string,
    args: Record<string, unknown>,
    workername: string | undefined,
    done: string,
    input: Record<string, unknown>,
  ): Promise<ControlOutcome> => {
    const taskName = checkId(taskNameOf(c, input), 'task name');
    const commandArgs = { task_name: taskName, ...args };
    if (workername) {
      const worker = knownWorker(workername);
      return { worker, body: { message: `${done}: ${await ask(c, worker, method, commandArgs)}` } };
    }
    monitor.logger.warn(
      { method, args: commandArgs, user: c.get('principal').user },
      `monitor: ${method} sent to every worker`,
    );
    const replies = await monitor.control.inspect(method, commandArgs, {
      timeoutMs: monitor.inspectTimeoutMs,
    });
    return { body: { message: done, replies } };
  };

  // Flower's paths name the task; the worker page's forms (a select) send it as `taskname`.
  for (const path of ['/api/task/rate-limit/:name', '/api/task/rate-limit']) {
    route(path, async (c, input) => {
      const body = parse(RateLimitBody, input);
      const name = taskNameOf(c, input);
      return taskLimit(
        c,
        'rate_limit',
        { rate_limit: body.ratelimit },
        body.workername,
        `new rate limit set for ${name}: ${body.ratelimit}`,
        input,
      );
    });
  }

  for (const path of ['/api/task/timeout/:name', '/api/task/timeout']) {
    route(path, async (c, input) => {
      const body = parse(TimeoutBody, input);
      if (body.soft === undefined && body.hard === undefined)
        throw badRequest('give soft and/or hard (seconds; 0 or empty for none)');
      const name = taskNameOf(c, input);
      const soft = body.soft || null;
      const hard = body.hard || null;
      return taskLimit(
        c,
        'time_limit',
        { soft, hard },
        body.workername,
        `time limits for ${name}: soft=${soft ?? 'none'} hard=${hard ?? 'none'}`,
        input,
      );
    });
  }
}
