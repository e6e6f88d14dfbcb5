import { getConnInfo } from '@hono/node-server/conninfo';
import type { Context } from 'hono';
import { html } from 'hono/html';
import { parseFeedback, type FieldErrors } from '../feedback.ts';
import { CSRF_FIELD, csrfValid, type CsrfEnv } from './csrf.ts';
import { TASK_ID, type SiteDeps } from './deps.ts';
import { field } from './layout.ts';
import { RateLimiter } from './rate-limit.ts';
import type { Render, Site } from './site.ts';

/**
 * The seed's feedback form: validate on the server, hand the email to the worker with
 * `sendFeedbackEmail.delay(...)`, answer at once (POST, redirect, thank-you page).
 */
export function registerFeedbackRoutes(site: Site, deps: SiteDeps, render: Render): void {
  const { max, windowMs } = deps.config.rateLimit;
  // Per client address (every POST counts) and per recipient (the form must not become a way to flood an inbox).
  const byClient = new RateLimiter(max, windowMs);
  const byRecipient = new RateLimiter(max, windowMs);

  const form = (token: string, values: Record<string, string>, errors: FieldErrors = {}, alert?: string) =>
    html`<h1>Send us feedback</h1>
      <p class="lead">The page answers at once; a worker sends you a thank-you email.</p>
      ${alert ? html`<div class="notice bad" role="alert">${alert}</div>` : ''}
      ${
        Object.keys(errors).length
          ? html`<div class="notice bad" role="alert">
              Please fix the fields marked below. Nothing was sent.
            </div>`
          : ''
      }
      <form method="post" action="/feedback" class="card" novalidate>
        <input type="hidden" name="${CSRF_FIELD}" value="${token}" />
        ${field({ name: 'name', label: 'Name', value: values.name ?? '', error: errors.name, extra: 'autocomplete="name"' })}
        ${field({
          name: 'email',
          label: 'Email address',
          type: 'email',
          value: values.email ?? '',
          error: errors.email,
          extra: 'autocomplete="email"',
        })}
        ${field({ name: 'message', label: 'Message', value: values.message ?? '', error: errors.message, textarea: true })}
        <button type="submit">Send feedback</button>
      </form>`;

  const tooMany = (
    c: Context<CsrfEnv>,
    values: Record<string, string>,
    retryAfterMs: number,
    who: string,
  ) => {
    const seconds = Math.ceil(retryAfterMs / 1000);
    c.header('Retry-After', String(seconds));
    return c.html(
      render(
        c,
        'Feedback',
        form(
          c.get('csrfToken'),
          values,
          {},
          `Too many submissions ${who}. Please wait ${seconds} seconds and try again. Nothing was sent.`,
        ),
      ),
      429,
    );
  };

  site.get('/feedback', (c) => c.html(render(c, 'Feedback', form(c.get('csrfToken'), {}))));

  site.post('/feedback', async (c) => {
    const body = await c.req.parseBody();
    const values = Object.fromEntries(
      ['name', 'email', 'message'].map((k) => [k, typeof body[k] === 'string' ? (body[k] as string) : '']),
    );
    if (!csrfValid(c, body[CSRF_FIELD])) {
      return c.html(
        render(
          c,
          'Feedback',
          form(c.get('csrfToken'), values, {}, 'The form expired. Please send it again.'),
        ),
        403,
      );
    }
    const client = clientAddress(c);
    const clientHit = byClient.hit([`client:${client}`]);
    if (!clientHit.ok) return tooMany(c, values, clientHit.retryAfterMs, 'from your address');
    const parsed = parseFeedback(values);
    if (!parsed.ok)
      return c.html(render(c, 'Feedback', form(c.get('csrfToken'), values, parsed.errors)), 400);
    const recipientHit = byRecipient.hit([`to:${parsed.value.email.toLowerCase()}`]);
    if (!recipientHit.ok) return tooMany(c, values, recipientHit.retryAfterMs, 'for this email address');
    const { name, email, message } = parsed.value;
    try {
      const result = await deps.tasks.sendFeedbackEmail.delay(name, email, message);
      return c.redirect(`/feedback/thanks?task=${encodeURIComponent(result.id)}`, 303);
    } catch (error) {
      console.error('feedback-site: could not queue the feedback email:', error);
      return c.html(
        render(
          c,
          'Feedback',
          form(
            c.get('csrfToken'),
            values,
            {},
            'We could not queue your message just now. Please send it again in a minute.',
          ),
        ),
        503,
      );
    }
  });

  site.get('/feedback/thanks', (c) => {
    const task = c.req.query('task') ?? '';
    return c.html(
      render(
        c,
        'Thank you',
        html`<h1>Thank you!</h1>
          <div class="notice" role="status">
            Your feedback is on its way: a worker is sending the email now.
          </div>
          ${TASK_ID.test(task) ? html`<p>Follow the task: <a href="/tasks/${task}">${task}</a>.</p>` : ''}
          ${deps.catcher ? html`<p>The email will show in the <a href="/outbox">outbox</a>.</p>` : ''}`,
      ),
    );
  });
}

/** The TCP peer; a proxy in front would need X-Forwarded-For handling, which is deliberately not trusted here. */
function clientAddress(c: Context): string {
  try {
    return getConnInfo(c).remote.address ?? 'unknown';
  } catch {
    return 'unknown'; // app.request() in tests has no socket
  }
}
