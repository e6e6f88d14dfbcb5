import type { Hono } from 'hono';
import type { Monitor } from '../monitor.ts';
import { clientAssets } from '../ui/assets.ts';
import { notFound } from './errors.ts';
import type { MonitorEnv } from './types.ts';

/**
 * `/static/assets/<hashed name>` from the Vite bundle, cached for a year (a new build has new
 * names). Starts loading (or building) the bundle at once, and holds HTML requests until it is
 * there so every page links it.
 */
export function registerStatic(app: Hono<MonitorEnv>, logger: Monitor['logger']): void {
  const ready = () => clientAssets((line) => logger.info(line));
  ready().catch((error: unknown) =>
    logger.error({ err: error }, 'monitor: the browser bundle is unavailable; pages will have no script'),
  );
  app.use('*', async (c, next) => {
    if (c.req.method === 'GET' && !c.req.path.includes('/api/')) await ready().catch(() => undefined);
    await next();
  });
  app.get('/static/*', async (c) => {
    const assets = await ready();
    const name = c.req.path.slice(c.req.path.lastIndexOf('/static/') + '/static/'.length);
    const file = assets.files.get(name);
    // Thrown, not `c.notFound()`: mounted in a parent app, that would be the parent's 404.
    if (!file) throw notFound(`static file ${name}`);
    return c.body(file.body as Uint8Array<ArrayBuffer>, 200, {
      'Content-Type': file.type,
      'Cache-Control': 'public, max-age=31536000, immutable',
    });
  });
}
