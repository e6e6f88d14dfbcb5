import type { Context, Hono } from 'hono';
import type { Monitor } from '../monitor.ts';
import { queryTasks, TaskQuerySchema } from '../state/task-query.ts';
import type { PageContext } from '../ui/layout.ts';
import { dashboardPage, taskDetailPage, tasksPage, workersPage } from '../ui/pages.ts';
import { badRequest, notFound } from './errors.ts';
import type { MonitorEnv } from './types.ts';

/** The server-rendered pages; the script in /static keeps them live over SSE. */
export function registerPages(
  app: Hono<MonitorEnv>,
  monitor: Monitor,
  pageContext: (c: Context<MonitorEnv>) => PageContext,
): void {
  const { state } = monitor;

  app.get('/', (c) => c.html(dashboardPage(pageContext(c), state)));

  app.get('/tasks', (c) => {
    const parsed = TaskQuerySchema.safeParse(c.req.query());
    if (!parsed.success) throw badRequest(parsed.error.issues[0]?.message ?? 'invalid filter');
    const workers = state.workerList().map((w) => w.hostname);
    return c.html(tasksPage(pageContext(c), parsed.data, queryTasks(state, parsed.data), workers));
  });

  app.get('/task/:id', (c) => {
    const id = c.req.param('id');
    const task = state.task(id);
    if (!task) throw notFound(`task ${id}`);
    return c.html(taskDetailPage(pageContext(c), task));
  });

  app.get('/workers', async (c) => {
    // Fresh details on each visit: one inspect round (about a second) for every worker.
    await monitor.inspect();
    return c.html(workersPage(pageContext(c), state.workerList(), monitor.inspections));
  });
}
