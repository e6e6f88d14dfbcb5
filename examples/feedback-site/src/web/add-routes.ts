import { html } from 'hono/html';
import { z } from 'zod';
import { CSRF_FIELD, csrfValid } from './csrf.ts';
import type { SiteDeps } from './deps.ts';
import { field } from './layout.ts';
import type { Render, Site } from './site.ts';

const number = (label: string) =>
  z
    .string()
    .trim()
    .min(1, `Please enter ${label}.`)
    .transform(Number)
    .refine(
      (n) => Number.isFinite(n) && Math.abs(n) <= 1e15,
      `${label[0]!.toUpperCase()}${label.slice(1)} must be a number.`,
    );

const addSchema = z.object({
  x: number('the first number'),
  y: number('the second number'),
  countdown: z
    .string()
    .trim()
    .transform((v) => (v === '' ? 0 : Number(v)))
    .refine((n) => Number.isInteger(n) && n >= 0 && n <= 3600, 'The countdown is whole seconds, 0 to 3600.'),
});

type AddErrors = Partial<Record<'x' | 'y' | 'countdown', string>>;

/** The seed's step 5: `add.delay(4, 1)` and `add.apply_async((3, 3), countdown=5)`, from a form. */
export function registerAddRoutes(site: Site, deps: SiteDeps, render: Render): void {
  const form = (token: string, values: Record<string, string>, errors: AddErrors = {}, status?: string) =>
    html`<h1>Add two numbers</h1>
      <p class="lead">Sends <code>tasks.add</code> to the worker; the result shows here when it is ready.</p>
      ${status ? html`<div class="notice bad" role="alert">${status}</div>` : ''}
      <form method="post" action="/add" class="card" novalidate>
        <input type="hidden" name="${CSRF_FIELD}" value="${token}" />
        <div class="row">
          ${field({ name: 'x', label: 'x', value: values.x ?? '4', error: errors.x, extra: 'inputmode="decimal"' })}
          ${field({ name: 'y', label: 'y', value: values.y ?? '1', error: errors.y, extra: 'inputmode="decimal"' })}
          ${field({
            name: 'countdown',
            label: 'Countdown (s)',
            value: values.countdown ?? '0',
            error: errors.countdown,
            extra: 'inputmode="numeric"',
          })}
        </div>
        <button type="submit">Add</button>
        <p class="muted">
          Countdown 0 is <code>add.delay(x, y)</code>; 5 is
          <code>add.applyAsync([x, y], {}, { countdown: 5 })</code>.
        </p>
      </form>`;

  site.get('/add', (c) => c.html(render(c, 'Add', form(c.get('csrfToken'), {}))));

  site.post('/add', async (c) => {
    const body = await c.req.parseBody();
    const values = Object.fromEntries(
      ['x', 'y', 'countdown'].map((k) => [k, typeof body[k] === 'string' ? (body[k] as string) : '']),
    );
    if (!csrfValid(c, body[CSRF_FIELD])) {
      return c.html(
        render(c, 'Add', form(c.get('csrfToken'), values, {}, 'The form expired. Please send it again.')),
        403,
      );
    }
    const parsed = addSchema.safeParse(values);
    if (!parsed.success) {
      const errors: AddErrors = {};
      for (const issue of parsed.error.issues) errors[issue.path[0] as keyof AddErrors] ??= issue.message;
      return c.html(render(c, 'Add', form(c.get('csrfToken'), values, errors)), 400);
    }
    const { x, y, countdown } = parsed.data;
    const result = await deps.tasks.add.applyAsync([x, y], {}, countdown > 0 ? { countdown } : {});
    const eta = countdown > 0 ? `?eta=${Date.now() + countdown * 1000}` : '';
    return c.redirect(`/tasks/${result.id}${eta}`, 303);
  });
}
