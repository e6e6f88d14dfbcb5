import { html, raw } from 'hono/html';
import type { HtmlEscapedString } from 'hono/utils/html';

export type Html = HtmlEscapedString | Promise<HtmlEscapedString>;

const NAV: Array<[href: string, label: string]> = [
  ['/', 'Home'],
  ['/add', 'Add'],
  ['/feedback', 'Feedback'],
  ['/tasks', 'Tasks'],
  ['/outbox', 'Outbox'],
];

/** Simple, readable on a phone, no build step: system fonts, one column, tables that scroll. */
const CSS = `
:root { color-scheme: light; --ink:#1f2933; --muted:#616e7c; --line:#e4e7eb; --accent:#2f6f4f; --accent-soft:#e8f3ec; --bad:#b42318; --bad-soft:#fef3f2; --bg:#f7f8f6; }
* { box-sizing: border-box; }
body { margin:0; font:16px/1.55 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif; color:var(--ink); background:var(--bg); }
header { background:#fff; border-bottom:1px solid var(--line); }
.bar { max-width:52rem; margin:0 auto; padding:.75rem 1rem; display:flex; flex-wrap:wrap; gap:.5rem 1.25rem; align-items:center; }
.brand { font-weight:700; color:var(--accent); text-decoration:none; margin-right:auto; }
nav { display:flex; flex-wrap:wrap; gap:.25rem 1rem; }
nav a { color:var(--muted); text-decoration:none; padding:.2rem 0; white-space:nowrap; }
nav a[aria-current=page] { color:var(--ink); border-bottom:2px solid var(--accent); }
main { max-width:52rem; margin:0 auto; padding:1.25rem 1rem 3rem; }
h1 { font-size:1.6rem; margin:.5rem 0 1rem; }
h2 { font-size:1.15rem; margin:1.5rem 0 .5rem; }
p.lead { color:var(--muted); margin-top:-.5rem; }
a { color:var(--accent); }
.card { background:#fff; border:1px solid var(--line); border-radius:10px; padding:1rem 1.1rem; margin:0 0 1rem; }
.grid { display:grid; gap:1rem; grid-template-columns:repeat(auto-fit,minmax(14rem,1fr)); }
.grid .card { margin:0; }
.card h2 { margin-top:0; }
label { display:block; font-weight:600; margin:.8rem 0 .25rem; }
input, textarea { width:100%; font:inherit; padding:.55rem .65rem; border:1px solid #cbd2d9; border-radius:6px; background:#fff; }
textarea { min-height:8rem; resize:vertical; }
input:focus, textarea:focus { outline:2px solid var(--accent); outline-offset:1px; }
.row { display:flex; gap:.75rem; align-items:flex-end; flex-wrap:wrap; }
.row > div { flex:1 1 6rem; }
button { font:inherit; font-weight:600; margin-top:1rem; padding:.6rem 1.2rem; border:0; border-radius:6px; background:var(--accent); color:#fff; cursor:pointer; }
button:hover { filter:brightness(1.1); }
.error { color:var(--bad); font-size:.92rem; margin:.25rem 0 0; }
[aria-invalid=true] { border-color:var(--bad); background:var(--bad-soft); }
.notice { border-left:4px solid var(--accent); background:var(--accent-soft); padding:.75rem 1rem; border-radius:6px; margin:0 0 1rem; }
.notice.bad { border-color:var(--bad); background:var(--bad-soft); }
.muted { color:var(--muted); font-size:.92rem; }
code, pre { font-family:ui-monospace,SFMono-Regular,Menlo,monospace; font-size:.88rem; }
pre { background:#fff; border:1px solid var(--line); border-radius:6px; padding:.75rem; overflow-x:auto; white-space:pre-wrap; word-break:break-word; }
.scroll { overflow-x:auto; }
table { width:100%; border-collapse:collapse; background:#fff; font-size:.92rem; }
th, td { text-align:left; padding:.45rem .6rem; border-bottom:1px solid var(--line); vertical-align:top; }
td.wrap { word-break:break-word; min-width:6rem; }
@media (max-width: 40rem) { .narrow-hide { display:none; } .big { font-size:1.5rem; } }
td code { overflow-wrap:anywhere; }
td:first-child { min-width:10rem; }
td .muted code { font-size:.8rem; }
th { color:var(--muted); font-weight:600; white-space:nowrap; }
.state { display:inline-block; padding:.05rem .5rem; border-radius:999px; font-size:.8rem; font-weight:600; background:#eef0f2; }
.state-SUCCESS { background:var(--accent-soft); color:var(--accent); }
.state-FAILURE, .state-REVOKED { background:var(--bad-soft); color:var(--bad); }
.state-RETRY, .state-STARTED { background:#fff6e0; color:#8a5a00; }
.big { font-size:2rem; font-weight:700; }
details { background:#fff; border:1px solid var(--line); border-radius:8px; margin:0 0 .75rem; }
details > summary { cursor:pointer; padding:.7rem .9rem; }
details > div { padding:0 .9rem .9rem; }
dl { display:grid; grid-template-columns:max-content 1fr; gap:.3rem 1rem; margin:0; }
dt { color:var(--muted); } dd { margin:0; word-break:break-word; }
footer { max-width:52rem; margin:0 auto; padding:0 1rem 2rem; color:var(--muted); font-size:.85rem; }
`;

/** The page frame: every page goes through here, so every value in it is escaped by `html`. */
export function page(opts: { title: string; path: string; body: Html; monitorUrl: string }): Html {
  const current = (href: string) => (href === '/' ? opts.path === '/' : opts.path.startsWith(href));
  return html`<!doctype html>
    <html lang="en">
      <head>
        <meta charset="utf-8" />
        <meta name="viewport" content="width=device-width, initial-scale=1" />
        <title>${opts.title} · Celeriac feedback site</title>
        <style>
          ${raw(CSS)}
        </style>
      </head>
      <body>
        <header>
          <div class="bar">
            <a class="brand" href="/">Celeriac feedback site</a>
            <nav>
              ${NAV.map(
                ([href, label]) =>
                  html`<a href="${href}" ${current(href) ? raw('aria-current="page"') : ''}>${label}</a>`,
              )}
              <a href="${opts.monitorUrl}" title="workers, tasks and periodic tasks (Flower's place)"
                >Monitor</a
              >
            </nav>
          </div>
        </header>
        <main>${opts.body}</main>
        <footer>Tasks run on a Celeriac worker; results are stored by the result backend.</footer>
      </body>
    </html>`;
}

/** A labelled field with its error (and `aria-invalid`) when it has one. */
export function field(opts: {
  name: string;
  label: string;
  value: string;
  error?: string | undefined;
  type?: string;
  textarea?: boolean;
  extra?: string;
}): Html {
  const id = `f-${opts.name}`;
  const invalid = opts.error ? 'true' : 'false';
  const describedBy = opts.error ? `${id}-error` : '';
  const control = opts.textarea
    ? html`<textarea
        id="${id}"
        name="${opts.name}"
        aria-invalid="${invalid}"
        aria-describedby="${describedBy}"
      >
${opts.value}</textarea>`
    : html`<input
        id="${id}"
        name="${opts.name}"
        type="${opts.type ?? 'text'}"
        value="${opts.value}"
        aria-invalid="${invalid}"
        aria-describedby="${describedBy}"
        ${raw(opts.extra ?? '')}
      />`;
  return html`<div>
    <label for="${id}">${opts.label}</label>${control}
    ${opts.error ? html`<p class="error" id="${id}-error" data-field-error="${opts.name}">${opts.error}</p>` : ''}
  </div>`;
}

/** A state badge. */
export function stateBadge(state: string): Html {
  return html`<span class="state state-${state.replace(/[^A-Z_]/g, '')}">${state}</span>`;
}
