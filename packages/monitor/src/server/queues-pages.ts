import type { Context, Hono } from 'hono';
import type { Monitor } from '../monitor.ts';
import type { PageContext } from '../ui/layout.ts';
import { queuesPage } from '../ui/queues-page.ts';
import { MonitorHttpError } from './errors.ts';
import { askedQueues, snapshotOrUnavailable } from './queues-api.ts';
import type { MonitorEnv } from './types.ts';

/** The Queues page; a broker that does not answer is shown on the page, not as an error page. */
export function registerQueuesPages(
  app: Hono<MonitorEnv>,
  monitor: Monitor,
  pageContext: (c: Context<MonitorEnv>) => PageContext,
): void {
  app.get('/queues', async (c) => {
    const asked = askedQueues(c);
    try {
      return c.html(queuesPage(pageContext(c), await snapshotOrUnavailable(monitor, asked), asked));
    } catch (error) {
      if (!(error instanceof MonitorHttpError) || error.status !== 503) throw error;
      return c.html(queuesPage(pageContext(c), undefined, asked, error.message), 503);
    }
  });
}
