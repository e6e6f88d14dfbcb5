import { html } from 'hono/html';
import type { HtmlEscapedString } from 'hono/utils/html';
import type { BrokerStatusSnapshot } from '../server/status-broker.ts';
import { assetTags, styleTags } from './assets.ts';
import { brokerBanner } from './broker-banner.ts';

/**
 * The page frame. Everything interpolated into `html` is escaped by Hono (task data included);
 * nothing is marked `raw`. Scripts and styles are the Vite bundle under /static (see assets.ts), so
 * the CSP can forbid inline code.
 */
export type Html = HtmlEscapedString | Promise<HtmlEscapedString>;

export interface PageContext {
  base: string;
  user: string | undefined;
  csrf: string;
  /** Log-in is off (`--insecure-no-auth`): the banner says so on every page. */
  insecure: boolean;
  /** The broker connection, for the "broker unreachable" banner. */
  broker?: BrokerStatusSnapshot;
  /** Back to the app the monitor is mounted in (`MonitorAppOptions.homeLink`). */
  homeLink?: { href: string; label: string };
  /** The live stream's version when the page was rendered: its stream first sends what changed since. */
  liveVersion?: number;
}

const NAV = [
  ['', 'Dashboard'],
  ['/tasks', 'Tasks'],
  ['/workers', 'Workers'],
  ['/queues', 'Queues'],
  ['/periodic', 'Periodic tasks'],
  ['/results', 'Results'],
] as const;

export function layout(ctx: PageContext, title: string, page: string, body: Html): Html {
  return html`<!doctype html>
    <html lang="en">
      <head>
        <meta charset="utf-8" />
        <meta name="viewport" content="width=device-width, initial-scale=1" />
        <meta name="csrf-token" content="${ctx.csrf}" />
        <meta name="base-path" content="${ctx.base}" />
        ${ctx.liveVersion === undefined ? '' : html`<meta name="live-since" content="${ctx.liveVersion}" />`}
        <title>${title} · Celeriac monitor</title>
        ${assetTags(ctx.base)}
      </head>
      <body data-page="${page}">
        <header>
          <a class="brand" href="${ctx.base}/">Celeriac monitor</a>
          <nav>
            ${ctx.homeLink ? html`<a class="home-link" href="${ctx.homeLink.href}">${ctx.homeLink.label}</a>` : ''}
            ${NAV.map(([path, label]) => html`<a href="${ctx.base}${path || '/'}" class="${page === label.toLowerCase() ? 'active' : ''}">${label}</a>`)}
          </nav>
          <span class="live" id="live-status" title="live updates">offline</span>
          ${ctx.user ? html`<form method="post" action="${ctx.base}/logout" class="logout"><input type="hidden" name="_csrf" value="${ctx.csrf}" /><span>${ctx.user}</span> <button type="submit">Log out</button></form>` : ''}
        </header>
        ${ctx.insecure ? html`<p class="warning">Log-in is disabled (--insecure-no-auth): anyone who can reach this port can control the workers.</p>` : ''}
        ${brokerBanner(ctx.broker)}
        <main>
          <h1>${title}</h1>
          ${body}
        </main>
      </body>
    </html>`;
}

export function loginPage(base: string, next: string, message: string | undefined): Html {
  return html`<!doctype html>
    <html lang="en">
      <head>
        <meta charset="utf-8" />
        <title>Log in · Celeriac monitor</title>
        ${styleTags(base)}
      </head>
      <body class="login">
        <main>
          <h1>Celeriac monitor</h1>
          ${message ? html`<p class="error" role="alert">${message}</p>` : ''}
          <form method="post" action="${base}/login">
            <input type="hidden" name="next" value="${next}" />
            <label>User name <input name="username" autocomplete="username" required autofocus /></label>
            <label
              >Password <input name="password" type="password" autocomplete="current-password" required
            /></label>
            <button type="submit">Log in</button>
          </form>
        </main>
      </body>
    </html>`;
}

export function errorPage(ctx: PageContext, status: number, message: string): Html {
  return layout(ctx, `Error ${status}`, 'error', html`<p class="error">${message}</p>`);
}

/** `2026-11-24 00:29:07.123` (UTC), or an em dash for nothing. */
export function formatTime(seconds: number | null | undefined): string {
  if (seconds === null || seconds === undefined || !Number.isFinite(seconds)) return '—';
  return new Date(seconds * 1000).toISOString().replace('T', ' ').replace('Z', '');
}

export function formatRuntime(seconds: number | null | undefined): string {
  if (seconds === null || seconds === undefined) return '—';
  return seconds < 1 ? `${(seconds * 1000).toFixed(1)} ms` : `${seconds.toFixed(3)} s`;
}

/** Long reprs are cut for tables; the detail page shows them whole. */
export function clip(text: string | null | undefined, max = 80): string {
  if (text === null || text === undefined) return '';
  return text.length > max ? `${text.slice(0, max - 1)}…` : text;
}
