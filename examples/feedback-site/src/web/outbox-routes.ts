import { html } from 'hono/html';
import type { CaughtMail } from '../smtp-catcher.ts';
import { clientScript } from './client-script.ts';
import type { SiteDeps } from './deps.ts';
import type { Render, Site } from './site.ts';

/** The local SMTP catcher's inbox: what the worker sent, as a mail client would show it. */
export function registerOutboxRoutes(site: Site, deps: SiteDeps, render: Render): void {
  const list = (mails: readonly CaughtMail[]) =>
    mails.length === 0
      ? html`<p class="muted">No emails yet. <a href="/feedback">Send feedback</a> and it shows here.</p>`
      : mails.map(
          (m) =>
            html`<details data-mail-id="${m.id}">
              <summary>
                <strong>${m.subject || '(no subject)'}</strong> · to ${m.to} ·
                <span class="muted">${m.receivedAt.toISOString().slice(11, 19)} UTC</span>
              </summary>
              <div>
                <dl>
                  <dt>From</dt>
                  <dd>${m.from}</dd>
                  <dt>To</dt>
                  <dd data-mail-to>${m.to}</dd>
                  <dt>Envelope</dt>
                  <dd>${m.envelopeFrom} → ${m.envelopeTo.join(', ')}</dd>
                </dl>
                <pre data-mail-text>${m.text}</pre>
              </div>
            </details>`,
        );

  site.get('/outbox', (c) => {
    const catcher = deps.catcher;
    if (c.req.query('fragment') === 'list') return c.html(html`${catcher ? list(catcher.messages) : ''}`);
    const body = catcher
      ? html`<h1>Outbox</h1>
          <p class="lead">
            Emails the local SMTP catcher on 127.0.0.1:${catcher.listeningPort} received (newest first, live).
            Nothing leaves this machine.
          </p>
          <div data-refresh="/outbox?fragment=list" data-every="2000">${list(catcher.messages)}</div>
          ${clientScript()}`
      : html`<h1>Outbox</h1>
          <div class="notice">Emails go out through <code>SMTP_URL</code>; the local catcher is off.</div>`;
    return c.html(render(c, 'Outbox', body));
  });
}
