import type { Context, Hono } from 'hono';
import type { Monitor } from '../monitor.ts';
import { defaultFields, mergeFields } from '../periodic/periodic-fields.ts';
import { previewSchedule } from '../periodic/periodic-preview.ts';
import {
  PeriodicTasks,
  ReadOnlyScheduleError,
  ScheduleStoreUnavailableError,
  type SaveResult,
} from '../periodic/periodic-tasks.ts';
import { badRequest, MonitorHttpError, notFound } from './errors.ts';
import type { MonitorEnv } from './types.ts';

export const NO_SCHEDULE_STORE =
  'no schedule store: start the monitor with -S db --db-url <url> (beat’s SQL tables, the same as `celeriac beat -S db`), or pass `schedules` to new Monitor(app, { schedules })';

/** The periodic tasks of the monitor's schedule store, or a 501 saying how to configure one. */
export function periodicTasksOf(monitor: Monitor): PeriodicTasks {
  if (!monitor.schedules) throw new MonitorHttpError(501, 'no_schedule_store', NO_SCHEDULE_STORE);
  return new PeriodicTasks(monitor.app, monitor.schedules);
}

/** Read-only stores answer 405, an unreachable one 503, with the reason; anything else propagates. */
export function storeError(error: unknown): never {
  if (error instanceof ReadOnlyScheduleError)
    throw new MonitorHttpError(405, error.code, error.message, { Allow: 'GET' });
  if (error instanceof ScheduleStoreUnavailableError)
    throw new MonitorHttpError(503, error.code, error.message, { 'Retry-After': '5' });
  throw error;
}

/**
 * `/api/periodic-tasks`: list, create, read, update (`PUT` changes only the fields it names),
 * delete, and run now. Bad input answers 400 `{ error, fields: { <field>: <why> } }`.
 */
export function registerPeriodicApi(app: Hono<MonitorEnv>, monitor: Monitor): void {
  const who = (c: Context<MonitorEnv>) => c.get('principal').user;

  app.get('/api/periodic-tasks', async (c) => {
    const periodic = periodicTasksOf(monitor);
    const now = Date.now();
    const entries = await periodic.list().catch(storeError);
    return c.json({
      store: periodic.store.description,
      editable: periodic.editable,
      periodic_tasks: entries.map((e) => periodic.view(e, now)),
    });
  });

  app.post('/api/periodic-tasks', async (c) => {
    const periodic = periodicTasksOf(monitor);
    const body = await jsonObject(c);
    const result = await periodic.save(body, undefined, periodic.newFields()).catch(storeError);
    if (!result.ok) return invalid(c, result);
    monitor.logger.info({ entry: result.name, user: who(c) }, 'monitor: periodic task created');
    return c.json(periodic.view((await periodic.get(result.name))!), 201);
  });

  // The form's live preview; needs no store, changes nothing.
  app.post('/api/periodic-tasks/preview', async (c) => {
    const { fields, errors, unknown } = mergeFields(defaultFields(), await jsonObject(c));
    if (unknown.length > 0) throw badRequest(`unknown field(s): ${unknown.join(', ')}`);
    const preview = previewSchedule(fields);
    if (!preview.ok || Object.keys(errors).length > 0) {
      const fieldErrors = { ...(preview.ok ? {} : preview.errors), ...errors };
      return c.json(
        {
          error: { code: 'invalid_schedule', message: 'the schedule cannot be read' },
          fields: fieldErrors,
        },
        400,
      );
    }
    return c.json({ description: preview.description });
  });

  app.get('/api/periodic-tasks/:name', async (c) => {
    const periodic = periodicTasksOf(monitor);
    return c.json(periodic.view(await existing(periodic, c.req.param('name'))));
  });

  app.put('/api/periodic-tasks/:name', async (c) => {
    const periodic = periodicTasksOf(monitor);
    const stored = await existing(periodic, c.req.param('name'));
    const body = await jsonObject(c);
    const result = await periodic.save(body, stored, periodic.fields(stored)).catch(storeError);
    if (!result.ok) return invalid(c, result);
    monitor.logger.info({ entry: result.name, user: who(c) }, 'monitor: periodic task updated');
    return c.json(periodic.view((await periodic.get(result.name))!));
  });

  app.delete('/api/periodic-tasks/:name', async (c) => {
    const periodic = periodicTasksOf(monitor);
    const stored = await existing(periodic, c.req.param('name'));
    await periodic.remove(stored.entry.name).catch(storeError);
    monitor.logger.warn({ entry: stored.entry.name, user: who(c) }, 'monitor: periodic task deleted');
    return c.json({ message: `Deleted periodic task '${stored.entry.name}'` });
  });

  app.post('/api/periodic-tasks/:name/run', async (c) => {
    const periodic = periodicTasksOf(monitor);
    const stored = await existing(periodic, c.req.param('name'));
    const id = await periodic.runNow(stored);
    monitor.logger.info({ entry: stored.entry.name, id, user: who(c) }, 'monitor: periodic task run now');
    return c.json({ 'task-id': id, task: stored.entry.task, message: `Sent ${stored.entry.task} (${id})` });
  });
}

export async function existing(periodic: PeriodicTasks, name: string) {
  const stored = await periodic.get(name).catch(storeError);
  if (!stored) throw notFound(`periodic task ${JSON.stringify(name)}`);
  return stored;
}

function invalid(c: Context<MonitorEnv>, result: Extract<SaveResult, { ok: false }>) {
  return c.json(
    { error: { code: 'invalid_periodic_task', message: result.message }, fields: result.errors },
    400,
  );
}

async function jsonObject(c: Context<MonitorEnv>): Promise<Record<string, unknown>> {
  if (!(c.req.header('content-type') ?? '').includes('application/json'))
    throw badRequest('send the periodic task as JSON (Content-Type: application/json)');
  let body: unknown;
  try {
    body = await c.req.json();
  } catch {
    throw badRequest('the body is not valid JSON');
  }
  if (typeof body !== 'object' || body === null || Array.isArray(body))
    throw badRequest('the body must be a JSON object of fields');
  return body as Record<string, unknown>;
}
