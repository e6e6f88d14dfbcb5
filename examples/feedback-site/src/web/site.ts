import { Hono } from 'hono';
import { bodyLimit } from 'hono/body-limit';
import { html } from 'hono/html';
import { secureHeaders } from 'hono/secure-headers';
import { registerAddRoutes } from './add-routes.ts';
import { csrfCookie, type CsrfEnv } from './csrf.ts';
import type { SiteDeps } from './deps.ts';
import { registerFeedbackRoutes } from './feedback-routes.ts';
import { page, type Html } from './layout.ts';
import { registerOutboxRoutes } from './outbox-routes.ts';
import { registerTasksRoutes } from './tasks-routes.ts';

export type SiteEnv = CsrfEnv;
export type Site = Hono<SiteEnv>;

/** The web site (the seed's Django project): server-rendered pages on Hono. */
export function createSite(deps: SiteDeps): Site {
  const site: Site = new Hono<SiteEnv>();
  const render = (c: { req: { path: string } }, title: string, body: Html) =>
    page({ title, path: c.req.path, body, monitorUrl: deps.config.monitorUrl });

  site.use(secureHeaders({ contentSecurityPolicy: undefined, crossOriginEmbedderPolicy: false }));
  site.use(csrfCookie());
  // Forms are small; a bigger body is refused before it is read (the message field allows 5000 characters).
  site.use(
    bodyLimit({
      maxSize: 64 * 1024,
      onError: (c) =>
        c.html(
          render(
            c,
            'Too large',
            html`<div class="notice bad">That form was too large to accept (64 kB at most).</div>`,
          ),
          413,
        ),
    }),
  );

  site.get('/', async (c) => {
    const every = deps.config.beatAddEvery;
    const entries = deps.beat ? await deps.beat.listEntries(1).catch(() => []) : [];
    const next = entries.find((e) => e.name === 'scheduled_task')?.nextRuns[0];
    return c.html(
      render(
        c,
        'Home',
        html`<h1>Celery's seed project, in TypeScript</h1>
          <p class="lead">
            A web site hands slow work to a queue; a worker runs it; beat sends periodic work; results land in
            a database. Running in <strong>${deps.mode}</strong> mode.
          </p>
          <div class="grid">
            <section class="card">
              <h2><a href="/add">Add two numbers</a></h2>
              <p>
                <code>tasks.add</code> on the worker, now or with a countdown; the result shows when ready.
              </p>
            </section>
            <section class="card">
              <h2><a href="/feedback">Send feedback</a></h2>
              <p>
                The page answers at once; the worker renders and sends the email (retrying while SMTP is
                down).
              </p>
            </section>
            <section class="card">
              <h2><a href="/tasks">Stored results</a></h2>
              <p>Every task's state and result from the result backend (the seed's django-celery-results).</p>
            </section>
            <section class="card">
              <h2><a href="/outbox">Outbox</a></h2>
              <p>Emails the local SMTP catcher received${deps.catcher ? '' : ' (off: SMTP_URL is set)'}.</p>
            </section>
            <section class="card">
              <h2>Periodic task</h2>
              <p>
                Beat sends <code>tasks.add(14, 15)</code> every <strong>${every}</strong>
                ${deps.beat ? html`(in this process${next ? html`, next at ${next.toISOString()}` : ''})` : '(run `celeriac beat`)'}.
                Add more, or change this one, on the monitor's
                <a href="${deps.config.monitorUrl.replace(/\/+$/, '')}/periodic">Periodic tasks</a> page.
              </p>
            </section>
            <section class="card">
              <h2><a href="${deps.config.monitorUrl}">Monitor</a></h2>
              <p>
                Flower's place: the worker online, every task live, and the periodic tasks beat sends,
                editable (the seed's admin panel).
                ${
                  deps.mode === 'embedded'
                    ? html`<span class="muted">Served by this process.</span>`
                    : html`<span class="muted"
                        ><code>celeriac monitor</code> at ${deps.config.monitorUrl}.</span
                      >`
                }
              </p>
            </section>
          </div>`,
      ),
    );
  });

  registerAddRoutes(site, deps, render);
  registerFeedbackRoutes(site, deps, render);
  registerTasksRoutes(site, deps, render);
  registerOutboxRoutes(site, deps, render);

  site.notFound((c) =>
    c.html(
      render(
        c,
        'Not found',
        html`<h1>Not found</h1>
          <p><a href="/">Home</a></p>`,
      ),
      404,
    ),
  );
  site.onError((error, c) => {
    console.error('feedback-site: request failed:', error);
    return c.html(
      render(
        c,
        'Error',
        html`<h1>Something went wrong</h1>
          <div class="notice bad">The server could not finish this request. Please try again.</div>`,
      ),
      500,
    );
  });
  return site;
}

export type Render = (c: { req: { path: string } }, title: string, body: Html) => Html;
