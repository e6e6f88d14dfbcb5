import { Monitor, createMonitorApp, hashPassword, type MonitorAuthOptions } from '@celeriac/monitor';
import type { Celeriac, SqlScheduleStore } from 'celeriac';
import { Hono } from 'hono';
import type { Logger } from 'pino';
import { ensureParentDir, type SiteConfig } from './config.ts';

/** Where embedded mode serves the monitor: a path of the site, so one port and one URL serve both. */
export const MONITOR_PATH = '/monitor';

export class MonitorAuthError extends Error {
  readonly code = 'MONITOR_AUTH';
}

const LOOPBACK = /^(localhost|127(\.\d{1,3}){3}|::1|\[::1\])$/i;

/**
 * The monitor's log-in: `MONITOR_USER` + `MONITOR_PASSWORD` when set; none otherwise, which the
 * monitor allows on a loopback address only (anyone who can reach it could read every task's
 * arguments and stop the worker).
 */
export async function monitorAuth(config: SiteConfig, logger: Logger): Promise<MonitorAuthOptions> {
  if (config.monitorUser !== undefined && config.monitorPassword !== undefined)
    return { users: { [config.monitorUser]: await hashPassword(config.monitorPassword) } };
  if (!LOOPBACK.test(config.host)) {
    throw new MonitorAuthError(
      `the site listens on ${config.host}, not on a loopback address: set MONITOR_USER and MONITOR_PASSWORD so the monitor at ${MONITOR_PATH} asks for a log-in`,
    );
  }
  logger.warn(
    `!!! monitor: LOG-IN IS DISABLED at ${MONITOR_PATH} (no MONITOR_USER / MONITOR_PASSWORD): anyone on this machine can read task data and control the worker !!!`,
  );
  return { insecureNoAuth: true };
}

export interface EmbeddedMonitor {
  readonly monitor: Monitor;
  /** Whether `/monitor` asks for a log-in. */
  readonly login: boolean;
  /** Answers requests under `/monitor`, exactly as `celeriac monitor` would (its own headers, CSP, CSRF). */
  fetch(request: Request, env?: unknown): Response | Promise<Response>;
  stop(): Promise<void>;
}

/**
 * The monitor (Flower's place) in the site's process: reads the worker's events and heartbeats,
 * asks it over remote control, keeps task history in SQLite, and edits beat's schedule store on
 * its Periodic tasks page. `app` is its own app object, as a separate `celeriac monitor` would have.
 */
export async function startEmbeddedMonitor(opts: {
  app: Celeriac;
  config: SiteConfig;
  /** From `monitorAuth`. */
  auth: MonitorAuthOptions;
  logger: Logger;
  /** The store beat reads; the monitor's Periodic tasks page writes to it. */
  schedules: SqlScheduleStore | undefined;
}): Promise<EmbeddedMonitor> {
  const { auth } = opts;
  ensureParentDir(opts.config.monitorDb);
  const monitor = new Monitor(opts.app, {
    history: { url: opts.config.monitorDb },
    logger: opts.logger,
    schedules: opts.schedules,
  });
  await monitor.start();
  // Mounted on a Hono app of its own rather than the site's, so the site's middleware (its headers,
  // body limit) does not change how the monitor answers.
  const host = new Hono().route(
    MONITOR_PATH,
    createMonitorApp(monitor, { basePath: MONITOR_PATH, auth, homeLink: { href: '/', label: '← Site' } }),
  );
  return {
    monitor,
    login: auth.insecureNoAuth !== true,
    fetch: (request, env) => host.fetch(request, env),
    stop: () => monitor.stop(),
  };
}

/** Whether a request belongs to the monitor. */
export function isMonitorPath(pathname: string): boolean {
  return pathname === MONITOR_PATH || pathname.startsWith(`${MONITOR_PATH}/`);
}
