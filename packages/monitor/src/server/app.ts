import { Hono, type Context } from 'hono';
import { deleteCookie, getCookie, setCookie } from 'hono/cookie';
import { HTTPException } from 'hono/http-exception';
import type { Monitor } from '../monitor.ts';
import { errorPage, loginPage, type PageContext } from '../ui/layout.ts';
import { registerApi } from './api.ts';
import {
  isPasswordHash,
  LoginThrottle,
  randomToken,
  safeEqual,
  SessionStore,
  verifyPassword,
  type LoginThrottleOptions,
} from './auth.ts';
import { MonitorHttpError } from './errors.ts';
import { openApiDocument } from './openapi.ts';
import { registerPages } from './pages.ts';
import { registerPeriodicApi } from './periodic-api.ts';
import { registerPeriodicPages } from './periodic-pages.ts';
import { registerQueuesApi } from './queues-api.ts';
import { registerQueuesPages } from './queues-pages.ts';
import { registerResultsApi } from './results-api.ts';
import { registerResultsPages } from './results-pages.ts';
import { LiveHub } from './sse.ts';
import { registerStatic } from './static-assets.ts';
import { registerStatusApi } from './status-api.ts';
import { registerStatsApi } from './stats-api.ts';
import { registerTaskRetryApi } from './task-retry-api.ts';
import { registerWorkerControlApi } from './worker-control-api.ts';
import { registerWorkerPages } from './worker-pages.ts';
import type { MonitorEnv, Principal } from './types.ts';

export interface MonitorAuthOptions {
  /** User name → scrypt hash (`hashPassword`). */
  users?: Record<string, string>;
  /** Tokens accepted as `Authorization: Bearer <token>` for the API and /metrics. */
  apiTokens?: string[];
  /**
   * No log-in at all. Only for a monitor bound to localhost during development; the CLI refuses it
   * on other addresses and every page carries a warning.
   */
  insecureNoAuth?: boolean;
  /** (Default: 12 h) */
  sessionTtlMs?: number;
  throttle?: LoginThrottleOptions;
  /** `Secure` on the session cookie. `auto`: over HTTPS, and on loopback hosts, which browsers treat as secure. (Default: auto) */
  secureCookies?: boolean | 'auto';
}

export interface MonitorAppOptions {
  auth: MonitorAuthOptions;
  /** Where the app is mounted inside a bigger one, e.g. `/monitor`. (Default: '') */
  basePath?: string;
  /** Serve /metrics without authentication, for a scraper on a private network. (Default: false) */
  publicMetrics?: boolean;
  /** A link back to the app the monitor is mounted in, first in the nav, e.g. `{ href: '/', label: '← Site' }`. (Default: none) */
  homeLink?: HomeLink;
}

export interface HomeLink {
  /** A path (`/`) or an http(s) URL. */
  href: string;
  label: string;
}

export class MonitorConfigError extends Error {
  readonly code = 'MONITOR_CONFIG';
}

const COOKIE = 'celeriac_monitor_session';
const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);
const CSP =
  "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'";

/**
 * The monitor's web app (Hono): UI pages, REST API, SSE and /metrics. Mount it in any Hono app
 * (`parent.route('/monitor', createMonitorApp(monitor, { basePath: '/monitor', auth }))`; routes
 * are relative, `basePath` is for the links and the cookie) or serve it alone (`celeriac monitor`).
 */
export function createMonitorApp(monitor: Monitor, options: MonitorAppOptions): Hono<MonitorEnv> {
  const auth = validateAuth(options.auth);
  const users = auth.users ?? {};
  const tokens = auth.apiTokens ?? [];
  const base = (options.basePath ?? '').replace(/\/+$/, '');
  const homeLink = validateHomeLink(options.homeLink);
  const sessions = new SessionStore(auth.sessionTtlMs);
  const throttle = new LoginThrottle(auth.throttle);
  // Without log-in there is no session, but changes still need a token a foreign page cannot read.
  const anonymousCsrf = randomToken();
  const hub = new LiveHub(monitor.state);
  const app = new Hono<MonitorEnv>();

  const pageContext = (c: Context<MonitorEnv>): PageContext => {
    const principal = c.get('principal') as Principal | undefined;
    return {
      base,
      user: principal?.via === 'session' ? principal.user : undefined,
      csrf: principal?.session?.csrf ?? anonymousCsrf,
      insecure: auth.insecureNoAuth === true,
      broker: monitor.broker.snapshot(),
      homeLink,
      liveVersion: hub.version,
    };
  };
  const wantsHtml = (c: Context) =>
    !c.req.path.startsWith(`${base}/api/`) &&
    c.req.path !== `${base}/metrics` &&
    c.req.path !== `${base}/openapi.json`;

  app.use('*', async (c, next) => {
    await next();
    c.header('Content-Security-Policy', CSP);
    c.header('X-Content-Type-Options', 'nosniff');
    c.header('X-Frame-Options', 'DENY');
    c.header('Referrer-Policy', 'same-origin');
    // Hashed bundle files say `immutable` themselves; everything else is never cached.
    if (!c.res.headers.has('Cache-Control')) c.header('Cache-Control', 'no-store');
  });

  app.onError((error, c) => {
    const status =
      error instanceof MonitorHttpError ? error.status : error instanceof HTTPException ? error.status : 500;
    const http =
      error instanceof MonitorHttpError
        ? error
        : new MonitorHttpError(
            status as 500,
            status === 500 ? 'internal' : 'http_error',
            status === 500 ? 'internal error' : error.message,
          );
    if (status === 500) monitor.logger.error({ err: error, path: c.req.path }, 'monitor: request failed');
    for (const [k, v] of Object.entries(http.headers)) c.header(k, v);
    if (wantsHtml(c)) return c.html(errorPage(pageContext(c), status, http.message), http.status);
    return c.json(http.toJSON(), http.status);
  });
  app.notFound((c) => {
    const error = new MonitorHttpError(404, 'not_found', `no route for ${c.req.method} ${c.req.path}`);
    return wantsHtml(c)
      ? c.html(errorPage(pageContext(c), 404, error.message), 404)
      : c.json(error.toJSON(), 404);
  });

  registerStatic(app, monitor.logger);

  app.get('/login', (c) => c.html(loginPage(base, safeNext(base, c.req.query('next')), undefined)));
  app.post('/login', async (c) => {
    checkOrigin(c);
    const form = await c.req.parseBody();
    const username = typeof form.username === 'string' ? form.username.slice(0, 200) : '';
    const password = typeof form.password === 'string' ? form.password.slice(0, 1000) : '';
    const next = safeNext(base, typeof form.next === 'string' ? form.next : undefined);
    const keys = [`addr:${clientAddress(c)}`, `user:${username}`];
    const wait = throttle.retryAfterSeconds(keys);
    if (wait > 0) {
      c.header('Retry-After', String(wait));
      return c.html(loginPage(base, next, `Too many failed log-ins; try again in ${wait} s.`), 429);
    }
    const hash = Object.hasOwn(users, username) ? users[username] : undefined;
    // Verify against a dummy hash for unknown users so timing does not tell which names exist.
    const valid = await verifyPassword(password, hash ?? DUMMY_HASH).catch(() => false);
    if (!valid || hash === undefined) {
      const delay = throttle.fail(keys);
      monitor.logger.warn({ user: username, addr: clientAddress(c) }, 'monitor: failed log-in');
      await new Promise((r) => setTimeout(r, delay));
      return c.html(loginPage(base, next, 'Wrong user name or password.'), 401);
    }
    throttle.succeed(keys);
    const session = sessions.create(username);
    setCookie(c, COOKIE, session.id, {
      httpOnly: true,
      sameSite: 'Strict',
      secure: secureCookie(c, auth.secureCookies ?? 'auto'),
      path: base || '/',
      maxAge: Math.floor(sessions.ttlMs / 1000),
    });
    return c.redirect(next, 303);
  });

  if (options.publicMetrics) app.get('/metrics', metricsHandler);

  // Everything below needs a principal.
  app.use('*', async (c, next) => {
    const principal = authenticate(c);
    if (!principal) {
      if (wantsHtml(c) && c.req.method === 'GET') {
        return c.redirect(`${base}/login?next=${encodeURIComponent(c.req.path)}`, 303);
      }
      c.header('WWW-Authenticate', 'Bearer');
      throw new MonitorHttpError(401, 'unauthorized', 'log in or send Authorization: Bearer <token>');
    }
    c.set('principal', principal);
    if (!SAFE_METHODS.has(c.req.method)) await checkCsrf(c, principal);
    await next();
  });

  app.post('/logout', (c) => {
    sessions.delete(getCookie(c, COOKIE));
    deleteCookie(c, COOKIE, { path: base || '/' });
    return c.redirect(`${base}/login`, 303);
  });
  app.get('/metrics', metricsHandler);
  app.get('/openapi.json', (c) => c.json(openApiDocument(base)));
  app.get('/api/csrf', (c) => c.json({ token: pageContext(c).csrf }));

  registerApi(app, monitor, hub);
  registerWorkerControlApi(app, monitor, pageContext);
  registerWorkerPages(app, monitor, pageContext);
  registerStatusApi(app, monitor);
  registerStatsApi(app, monitor);
  registerTaskRetryApi(app, monitor);
  registerPages(app, monitor, pageContext);
  registerPeriodicApi(app, monitor);
  registerPeriodicPages(app, monitor, pageContext);
  registerQueuesApi(app, monitor);
  registerQueuesPages(app, monitor, pageContext);
  registerResultsApi(app, monitor);
  registerResultsPages(app, monitor, pageContext);
  // Last: mounted with `parent.route(base, app)`, a parent's notFound would answer paths under the
  // mount; this keeps them the monitor's (its page for browsers, JSON under /api). Keep it last.
  app.all('*', (c) => {
    throw new MonitorHttpError(404, 'not_found', `no route for ${c.req.method} ${c.req.path}`);
  });
  return app;

  async function metricsHandler(c: Context<MonitorEnv>) {
    return c.body(await monitor.metrics.text(), 200, { 'Content-Type': monitor.metrics.contentType });
  }

  function authenticate(c: Context<MonitorEnv>): Principal | undefined {
    const header = c.req.header('authorization');
    if (header?.startsWith('Bearer ')) {
      const token = header.slice(7).trim();
      return tokens.some((t) => safeEqual(t, token)) ? { user: 'api-token', via: 'token' } : undefined;
    }
    const session = sessions.get(getCookie(c, COOKIE));
    if (session) return { user: session.user, via: 'session', session };
    if (auth.insecureNoAuth) return { user: 'anonymous', via: 'none' };
    return undefined;
  }

  async function checkCsrf(c: Context<MonitorEnv>, principal: Principal): Promise<void> {
    // A bearer token is never sent by a browser on its own, so it cannot be ridden cross-site.
    if (principal.via === 'token') return;
    checkOrigin(c);
    const expected = principal.session?.csrf ?? anonymousCsrf;
    let given = c.req.header('x-csrf-token');
    if (!given && /form/.test(c.req.header('content-type') ?? '')) {
      const field = (await c.req.parseBody())._csrf;
      if (typeof field === 'string') given = field;
    }
    if (!given || !safeEqual(given, expected)) {
      throw new MonitorHttpError(403, 'csrf', 'missing or wrong X-CSRF-Token (reload the page)');
    }
  }
}

/** Refuses a configuration that would leave the monitor open by accident. */
export function validateAuth(auth: MonitorAuthOptions): MonitorAuthOptions {
  const users = auth.users ?? {};
  if (!auth.insecureNoAuth && Object.keys(users).length === 0 && (auth.apiTokens ?? []).length === 0) {
    throw new MonitorConfigError(
      'the monitor needs a user (CELERIAC_MONITOR_USER and CELERIAC_MONITOR_PASSWORD) or an API token (CELERIAC_MONITOR_TOKEN); --insecure-no-auth turns log-in off, on localhost only',
    );
  }
  for (const [user, hash] of Object.entries(users)) {
    if (!isPasswordHash(hash))
      throw new MonitorConfigError(`user ${user}: the password must be an scrypt hash (hashPassword)`);
  }
  return auth;
}

/** The link is the embedding developer's, but a `javascript:` href would still run in the monitor's origin. */
function validateHomeLink(link: HomeLink | undefined): HomeLink | undefined {
  if (link === undefined) return undefined;
  if (!/^(\/(?!\/)|https?:\/\/)/i.test(link.href) || link.label.trim() === '') {
    throw new MonitorConfigError(
      `homeLink: href must be a path starting with / or an http(s) URL, and label must not be empty (got ${JSON.stringify(link)})`,
    );
  }
  return Object.freeze({ href: link.href, label: link.label });
}

/** A request from another site carries its own Origin: refuse it before looking at anything else. */
function checkOrigin(c: Context): void {
  const origin = c.req.header('origin');
  if (origin && origin !== new URL(c.req.url).origin) {
    throw new MonitorHttpError(403, 'csrf', `cross-origin request from ${origin} refused`);
  }
}

/** Only paths inside the monitor: `next=//evil.example` must not redirect away. */
function safeNext(base: string, next: string | undefined): string {
  if (next && next.startsWith(`${base}/`) && !next.startsWith('//') && !next.includes('\\')) return next;
  return `${base}/`;
}

function secureCookie(c: Context, mode: boolean | 'auto'): boolean {
  if (mode !== 'auto') return mode;
  const url = new URL(c.req.url);
  return url.protocol === 'https:' || ['localhost', '127.0.0.1', '[::1]'].includes(url.hostname);
}

function clientAddress(c: Context): string {
  const incoming = (c.env as { incoming?: { socket?: { remoteAddress?: string } } } | undefined)?.incoming;
  return incoming?.socket?.remoteAddress ?? 'local';
}

// scrypt of a random password: verifying against it costs what a real check costs.
const DUMMY_HASH = 'scrypt$16384$8$1$AAAAAAAAAAAAAAAAAAAAAA$AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA';
