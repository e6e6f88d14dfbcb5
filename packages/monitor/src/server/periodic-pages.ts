import { describeSchedule, type StoredEntry } from 'celeriac';
import type { Context, Hono } from 'hono';
import type { Monitor } from '../monitor.ts';
import { parseFields, type PeriodicFields } from '../periodic/periodic-fields.ts';
import { previewSchedule } from '../periodic/periodic-preview.ts';
import { PeriodicTasks } from '../periodic/periodic-tasks.ts';
import type { PageContext } from '../ui/layout.ts';
import { periodicFormPage } from '../ui/periodic-form.ts';
import {
  periodicListPage,
  periodicPath,
  periodicUnconfiguredPage,
  type PeriodicNotice,
} from '../ui/periodic-list.ts';
import { existing, NO_SCHEDULE_STORE, periodicTasksOf, storeError } from './periodic-api.ts';
import type { MonitorEnv } from './types.ts';

const NOTICES: Record<string, (name: string, task: string) => string> = {
  created: (name) => `Created periodic task ${name}.`,
  updated: (name) => `Saved periodic task ${name}.`,
  enabled: (name) => `Enabled ${name}.`,
  disabled: (name) => `Disabled ${name}.`,
  deleted: (name) => `Deleted ${name}.`,
  ran: (name, task) => `Sent ${task} for ${name} now: task`,
};

/**
 * The Periodic tasks pages: plain forms that post and redirect (they work without script), each
 * change checked for its CSRF token by the app's middleware.
 */
export function registerPeriodicPages(
  app: Hono<MonitorEnv>,
  monitor: Monitor,
  pageContext: (c: Context<MonitorEnv>) => PageContext,
): void {
  const periodicOf = () =>
    monitor.schedules ? new PeriodicTasks(monitor.app, monitor.schedules) : undefined;
  const done = (c: Context<MonitorEnv>, kind: string, name: string, extra: Record<string, string> = {}) => {
    const query = new URLSearchParams({ done: kind, name, ...extra });
    return c.redirect(`${periodicPath(pageContext(c))}?${query}`, 303);
  };

  app.get('/periodic', async (c) => {
    const ctx = pageContext(c);
    const periodic = periodicOf();
    if (!periodic) return c.html(periodicUnconfiguredPage(ctx, NO_SCHEDULE_STORE));
    const now = Date.now();
    const views = (await periodic.list().catch(storeError)).map((e) => periodic.view(e, now));
    const kind = c.req.query('done');
    const notice: PeriodicNotice | undefined =
      kind && NOTICES[kind]
        ? {
            text: NOTICES[kind](c.req.query('name') ?? '', c.req.query('task') ?? ''),
            taskId: kind === 'ran' ? c.req.query('task_id') : undefined,
          }
        : undefined;
    return c.html(
      periodicListPage(
        ctx,
        { description: periodic.store.description, editable: periodic.editable },
        views,
        notice,
      ),
    );
  });

  app.get('/periodic/new', async (c) => {
    const periodic = periodicTasksOf(monitor);
    const fields = periodic.newFields();
    return c.html(periodicFormPage(pageContext(c), await model(periodic, undefined, fields)));
  });

  // Edit forms live at `/:name/edit`, so an entry called `new` is as editable as any other.
  app.get('/periodic/:name/edit', async (c) => {
    const periodic = periodicTasksOf(monitor);
    const stored = await existing(periodic, c.req.param('name'));
    return c.html(periodicFormPage(pageContext(c), await model(periodic, stored, periodic.fields(stored))));
  });
  // Old edit links (`/periodic/:name`) still lead to the form.
  app.get('/periodic/:name', (c) =>
    c.redirect(periodicPath(pageContext(c), c.req.param('name'), 'edit'), 301),
  );

  const submit = async (c: Context<MonitorEnv>, name: string | undefined) => {
    const periodic = periodicTasksOf(monitor);
    const stored = name === undefined ? undefined : await existing(periodic, name);
    const { input, action } = await formInput(c);
    const base = stored ? periodic.fields(stored) : periodic.newFields();
    if (action === 'preview') {
      const fields = { ...base, ...input } as PeriodicFields;
      const m = await model(periodic, stored, fields);
      // Name and task may still be blank while the schedule is being worked out.
      const parsed = parseFields({ ...fields, name: fields.name || '-', task: fields.task || '-' });
      if (!parsed.ok) m.errors = parsed.errors;
      return c.html(periodicFormPage(pageContext(c), m));
    }
    const result = await periodic.save(input, stored, base).catch(storeError);
    if (!result.ok) {
      const m = await model(periodic, stored, result.fields);
      m.errors = result.errors;
      m.message = 'Nothing was saved: correct the fields marked below.';
      return c.html(periodicFormPage(pageContext(c), m), 400);
    }
    monitor.logger.info(
      { entry: result.name, user: c.get('principal').user },
      `monitor: periodic task ${stored ? 'updated' : 'created'}`,
    );
    return done(c, stored ? 'updated' : 'created', result.name);
  };
  app.post('/periodic', (c) => submit(c, undefined));
  app.post('/periodic/:name', (c) => submit(c, c.req.param('name')));

  for (const action of ['enable', 'disable', 'delete', 'run'] as const) {
    app.post(`/periodic/:name/${action}`, async (c) => {
      const periodic = periodicTasksOf(monitor);
      const stored = await existing(periodic, c.req.param('name'));
      const name = stored.entry.name;
      const user = c.get('principal').user;
      if (action === 'run') {
        const id = await periodic.runNow(stored);
        monitor.logger.info({ entry: name, id, user }, 'monitor: periodic task run now');
        return done(c, 'ran', name, { task: stored.entry.task, task_id: id });
      }
      if (action === 'delete') await periodic.remove(name).catch(storeError);
      else await periodic.setEnabled(name, action === 'enable').catch(storeError);
      monitor.logger.info({ entry: name, user }, `monitor: periodic task ${action}d`);
      return done(c, `${action}d`, name);
    });
  }

  async function model(periodic: PeriodicTasks, stored: StoredEntry | undefined, fields: PeriodicFields) {
    return {
      original: stored?.entry.name,
      fields,
      errors: {},
      preview: previewOf(stored, fields),
      message: undefined as string | undefined,
      taskNames: await taskNames(monitor),
      editable: periodic.editable,
    };
  }
}

/** The schedule in words, or why it cannot be read yet. */
function previewOf(stored: StoredEntry | undefined, fields: PeriodicFields): string {
  const preview = previewSchedule(fields);
  if (preview.ok) return preview.description;
  if (stored) return `${describeSchedule(stored.entry.schedule)} (as saved; the changes have errors)`;
  return '(not yet readable: fill in or correct the schedule fields)';
}

/** Form fields as text; an unticked checkbox is sent by no browser, so it means off. */
async function formInput(c: Context<MonitorEnv>): Promise<{ input: Record<string, string>; action: string }> {
  const body = await c.req.parseBody();
  const input: Record<string, string> = { enabled: '', one_off: '' };
  let action = 'save';
  for (const [key, value] of Object.entries(body)) {
    if (typeof value !== 'string') continue;
    if (key === '_action') action = value;
    else if (key !== '_csrf') input[key] = value;
  }
  return { input, action };
}

/** Task names to suggest: this app's tasks and what workers registered. */
async function taskNames(monitor: Monitor): Promise<string[]> {
  if (monitor.inspections.size === 0) await monitor.inspect().catch(() => undefined);
  const names = new Set(monitor.app.tasks.keys());
  for (const info of monitor.inspections.values()) {
    if (!Array.isArray(info.registered)) continue;
    // Python workers may add " [rate_limit=…]" after the name.
    for (const item of info.registered) if (typeof item === 'string') names.add(item.split(' ')[0]!);
  }
  return [...names].sort();
}
