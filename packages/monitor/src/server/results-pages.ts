import type { Context, Hono } from 'hono';
import type { Monitor } from '../monitor.ts';
import { NO_SQL_BACKEND, RESULT_ID, resultBrowser } from '../results/result-browser.ts';
import type { PageContext } from '../ui/layout.ts';
import { resultDetailPage, resultsListPage, resultsUnavailablePage } from '../ui/results-pages.ts';
import { notFound } from './errors.ts';
import { deleteResult, listResults, parseResultQuery, resultId } from './results-api.ts';
import type { MonitorEnv } from './types.ts';

/** The Results pages: list with filters and keyset pages, detail, delete (a plain form; no script needed). */
export function registerResultsPages(
  app: Hono<MonitorEnv>,
  monitor: Monitor,
  pageContext: (c: Context<MonitorEnv>) => PageContext,
): void {
  app.get('/results', async (c) => {
    const ctx = pageContext(c);
    const browser = await resultBrowser(monitor.app);
    if (!browser) return c.html(resultsUnavailablePage(ctx, NO_SQL_BACKEND));
    const query = parseResultQuery(c);
    const deleted = c.req.query('deleted');
    const notice = deleted && RESULT_ID.test(deleted) ? `Deleted result ${deleted}.` : undefined;
    return c.html(resultsListPage(ctx, query, await listResults(browser, query), notice));
  });

  app.get('/results/:id', async (c) => {
    const ctx = pageContext(c);
    const browser = await resultBrowser(monitor.app);
    if (!browser) return c.html(resultsUnavailablePage(ctx, NO_SQL_BACKEND));
    const id = resultId(c);
    const stored = await browser.getStored(id);
    if (!stored) throw notFound(`result ${id}`);
    return c.html(resultDetailPage(ctx, stored));
  });

  app.post('/results/:id/delete', async (c) => {
    const id = resultId(c);
    await deleteResult(c, monitor, id);
    return c.redirect(`${pageContext(c).base}/results?${new URLSearchParams({ deleted: id })}`, 303);
  });
}
