import type { Context, Hono } from 'hono';
import { basePath as mountPath } from 'hono/route';
import type { Monitor } from '../monitor.ts';
import { listTasks, TaskQuerySchema } from '../state/task-query.ts';
import type { PageContext } from '../ui/layout.ts';
import { dashboardPage, taskDetailPage, tasksPage } from '../ui/pages.ts';
import { workflowOf } from '../ui/workflow-graph.ts';
import { badRequest, notFound } from './errors.ts';
import type { MonitorEnv } from './types.ts';

/** The server-rendered pages; the script in /static keeps them live over SSE. */
export function registerPages(
  app: Hono<MonitorEnv>,
  monitor: Monitor,
  pageContext: (c: Context<MonitorEnv>) => PageContext,
): void {
  const { state } = monitor;

  const dashboard = (c: Context<MonitorEnv>) => c.html(dashboardPage(pageContext(c), state));
  app.get('/', dashboard);
  // Mounted with `parent.route('/monitor', app)`, '/' is `/monitor`, and `/monitor/` (where every page
  // links and log-in lands) reaches only wildcards: answer it too, so a plain mount works.
  app.get('*', (c, next) => (c.req.path === `${mountPath(c)}/` ? dashboard(c) : next()));

  app.get('/tasks', async (c) => {
    const parsed = TaskQuerySchema.safeParse(c.req.query());
    if (!parsed.success) throw badRequest(parsed.error.issues[0]?.message ?? 'invalid filter');
    // The context (with the live version) before the read: what changes while history is read
    // reaches the page over its stream.
    const ctx = pageContext(c);
    const workers = state.workerList().map((w) => w.hostname);
    const page = await listTasks(state, monitor.history, parsed.data);
    return c.html(tasksPage(ctx, parsed.data, page, workers));
  });

  app.get('/task/:id', async (c) => {
    const id = c.req.param('id');
    const ctx = pageContext(c);
    const task = state.task(id) ?? (id.length <= 255 ? await monitor.history?.get(id) : undefined);
    if (!task) throw notFound(`task ${id}`);
    return c.html(taskDetailPage(ctx, task, workflowOf(state, task)));
  });

  // /workers and /worker/:name: worker-pages.ts
}
