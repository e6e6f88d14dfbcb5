import type { Context, Hono } from 'hono';
import type { Monitor } from '../monitor.ts';
import type { PageContext } from '../ui/layout.ts';
import type { ControlNotice } from '../ui/worker-controls.ts';
import { workersPage } from '../ui/worker-list.ts';
import { workerPage } from '../ui/worker-page.ts';
import { notFound } from './errors.ts';
import type { MonitorEnv } from './types.ts';

/** The Workers page (`?offline=hide` hides offline workers) and one page per worker (Flower's). */
export function registerWorkerPages(
  app: Hono<MonitorEnv>,
  monitor: Monitor,
  pageContext: (c: Context<MonitorEnv>) => PageContext,
): void {
  const { state } = monitor;

  app.get('/workers', async (c) => {
    // Fresh details on each visit: one inspect round (about a second) for every worker.
    await monitor.inspect();
    const forgot = c.req.query('control') === 'forget' ? c.req.query('ok') : undefined;
    return c.html(
      workersPage(pageContext(c), state.workerList(), monitor.inspections, {
        hideOffline: c.req.query('offline') === 'hide',
        ...(forgot !== undefined && { forgot }),
      }),
    );
  });

  app.get('/worker/:name', async (c) => {
    const name = c.req.param('name');
    const worker = name.length <= 255 ? state.getWorker(name) : undefined;
    if (!worker) throw notFound(`worker ${name}`);
    await monitor.inspect(name);
    const control = c.req.query('control');
    const notice: ControlNotice | undefined = control
      ? { control, ok: c.req.query('ok'), error: c.req.query('error') }
      : undefined;
    return c.html(workerPage(pageContext(c), state, worker, monitor.inspections.get(name), notice));
  });
}
