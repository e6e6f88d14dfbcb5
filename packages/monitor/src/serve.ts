import { serve, type ServerType } from '@hono/node-server';
import type { Celeriac } from 'celeriac';
import { Monitor, type MonitorOptions } from './monitor.ts';
import { createMonitorApp, MonitorConfigError, validateAuth, type MonitorAuthOptions } from './server/app.ts';
import { hashPassword, isPasswordHash } from './server/auth.ts';

export interface ServeMonitorOptions extends MonitorOptions {
  /** (Default: 5555, as Flower) */
  port?: number;
  /** (Default: 127.0.0.1) */
  host?: string;
  auth: MonitorAuthOptions;
  publicMetrics?: boolean;
}

const LOOPBACK = new Set(['127.0.0.1', 'localhost', '::1']);

/**
 * Log-in from the environment: `CELERIAC_MONITOR_USER` + `CELERIAC_MONITOR_PASSWORD` (plain, hashed
 * here, or already an scrypt hash from `hashPassword`), `CELERIAC_MONITOR_TOKEN` for the API.
 * Explicit values (CLI flags) win over the environment.
 */
export async function authFromEnv(
  env: NodeJS.ProcessEnv = process.env,
  explicit: { user?: string; password?: string; token?: string } = {},
): Promise<Pick<MonitorAuthOptions, 'users' | 'apiTokens'>> {
  // An empty variable counts as unset, as shells and compose files often leave them.
  const user = explicit.user || env.CELERIAC_MONITOR_USER || undefined;
  const password = explicit.password || env.CELERIAC_MONITOR_PASSWORD || undefined;
  const token = explicit.token || env.CELERIAC_MONITOR_TOKEN || undefined;
  if ((user && !password) || (!user && password)) {
    throw new MonitorConfigError('set both CELERIAC_MONITOR_USER and CELERIAC_MONITOR_PASSWORD (or neither)');
  }
  if (token !== undefined && token.length < 16) {
    throw new MonitorConfigError('CELERIAC_MONITOR_TOKEN must be at least 16 characters');
  }
  const users: Record<string, string> = {};
  if (user && password) users[user] = isPasswordHash(password) ? password : await hashPassword(password);
  return { users, apiTokens: token ? [token] : [] };
}

/** Starts the monitor and its HTTP server; `close()` stops both. */
export async function serveMonitor(
  app: Celeriac,
  options: ServeMonitorOptions,
): Promise<{ monitor: Monitor; url: string; close: () => Promise<void> }> {
  const host = options.host ?? '127.0.0.1';
  const port = options.port ?? 5555;
  const logger = options.logger ?? app.logger;
  if (options.auth.insecureNoAuth) {
    if (!LOOPBACK.has(host)) {
      throw new MonitorConfigError(`--insecure-no-auth is allowed on localhost only, not on ${host}`);
    }
    logger.warn(
      '!!! monitor: LOG-IN IS DISABLED (--insecure-no-auth): anyone on this machine can read task data and control the workers !!!',
    );
  }
  validateAuth(options.auth); // before connecting to anything
  const monitor = new Monitor(app, options);
  await monitor.start();
  const site = createMonitorApp(monitor, { auth: options.auth, publicMetrics: options.publicMetrics });
  const server = await new Promise<ServerType>((resolve, reject) => {
    const s = serve({ fetch: site.fetch, port, hostname: host }, () => resolve(s));
    s.once('error', reject);
  });
  const address = server.address();
  const actualPort = typeof address === 'object' && address ? address.port : port;
  const url = `http://${host.includes(':') ? `[${host}]` : host}:${actualPort}`;
  logger.info(`monitor: listening on ${url}`);
  return {
    monitor,
    url,
    close: async () => {
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      // Live (SSE) connections never end on their own.
      (server as { closeAllConnections?: () => void }).closeAllConnections?.();
      await closed;
      await monitor.stop();
    },
  };
}
