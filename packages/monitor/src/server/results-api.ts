import type { Context, Hono } from 'hono';
import type { Monitor } from '../monitor.ts';
import {
  isCursorError,
  listOptions,
  NO_SQL_BACKEND,
  RESULT_ID,
  ResultQuerySchema,
  resultBrowser,
  resultJson,
  type ResultBrowser,
  type ResultQuery,
} from '../results/result-browser.ts';
import { badRequest, MonitorHttpError, notFound } from './errors.ts';
import type { MonitorEnv } from './types.ts';

/** The backend, or a 501 saying why there is nothing to browse. */
export async function requireBrowser(monitor: Monitor): Promise<ResultBrowser> {
  const browser = await resultBrowser(monitor.app);
  if (!browser) throw new MonitorHttpError(501, 'no_sql_result_backend', NO_SQL_BACKEND);
  return browser;
}

export function parseResultQuery(c: Context<MonitorEnv>): ResultQuery {
  const parsed = ResultQuerySchema.safeParse(c.req.query());
  if (!parsed.success) {
    const first = parsed.error.issues[0];
    throw badRequest(first ? `${first.path.join('.') || 'query'}: ${first.message}` : 'invalid filter');
  }
  return parsed.data;
}

export function resultId(c: Context<MonitorEnv>): string {
  const id = c.req.param('id') ?? '';
  if (!RESULT_ID.test(id)) throw notFound(`result ${id.slice(0, 60)}`);
  return id;
}

/** A page of results; a cursor from elsewhere is the caller's mistake (400), not ours. */
export async function listResults(browser: ResultBrowser, query: ResultQuery) {
  try {
    return await browser.listPage(listOptions(query));
  } catch (error) {
    if (isCursorError(error)) throw badRequest((error as Error).message);
    throw error;
  }
}

/** Deletes one result and logs who did it. */
export async function deleteResult(c: Context<MonitorEnv>, monitor: Monitor, id: string): Promise<void> {
  const browser = await requireBrowser(monitor);
  if (!(await browser.deleteResult(id))) throw notFound(`result ${id}`);
  monitor.logger.warn({ id, user: c.get('principal').user }, 'monitor: stored result deleted');
}

/** `/api/results`: the SQL result store, browsed as django-celery-results' admin does. */
export function registerResultsApi(app: Hono<MonitorEnv>, monitor: Monitor): void {
  app.get('/api/results', async (c) => {
    const query = parseResultQuery(c);
    const page = await listResults(await requireBrowser(monitor), query);
    return c.json({
      results: page.results.map(resultJson),
      next: page.next,
      total: page.total,
      limit: query.limit,
    });
  });

  app.get('/api/results/:id', async (c) => {
    const id = resultId(c);
    const stored = await (await requireBrowser(monitor)).getStored(id);
    if (!stored) throw notFound(`result ${id}`);
    return c.json(resultJson(stored));
  });

  app.delete('/api/results/:id', async (c) => {
    const id = resultId(c);
    await deleteResult(c, monitor, id);
    return c.json({ message: `Deleted result ${id}`, task_id: id });
  });
}
