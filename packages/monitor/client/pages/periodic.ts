import { meta } from '../lib/page.ts';
import './periodic.css';

interface Preview {
  description?: string;
  fields?: Record<string, string>;
}

/**
 * Periodic tasks form: shows only the fieldset of the chosen schedule kind and keeps the
 * plain-words preview live as the fields change. Without script every kind's fields stay visible
 * and the Preview button asks the server, so both are conveniences.
 */
export function init(page: string): void {
  if (page !== 'periodic tasks') return;
  const form = document.querySelector<HTMLFormElement>('#periodic-form');
  const kind = form?.querySelector<HTMLSelectElement>('select[name=schedule_type]');
  const output = document.querySelector<HTMLOutputElement>('#schedule-preview');
  if (!form || !kind) return;
  const show = () => {
    for (const set of form.querySelectorAll<HTMLFieldSetElement>('fieldset[data-kind]'))
      set.hidden = set.dataset.kind !== kind.value;
  };
  kind.addEventListener('change', show);
  show();
  if (!output) return;

  let timer: ReturnType<typeof setTimeout> | undefined;
  let asked = 0;
  const refresh = async () => {
    const body: Record<string, string> = {};
    new FormData(form).forEach((value, key) => {
      if (typeof value === 'string' && !key.startsWith('_')) body[key] = value;
    });
    const ticket = ++asked;
    try {
      const response = await fetch(`${meta('base-path')}/api/periodic-tasks/preview`, {
        method: 'POST',
        credentials: 'same-origin',
        headers: { 'Content-Type': 'application/json', 'X-CSRF-Token': meta('csrf-token') },
        body: JSON.stringify(body),
      });
      const preview = (await response.json()) as Preview;
      if (ticket !== asked) return; // a later keystroke's answer wins
      output.textContent =
        preview.description ??
        `(${Object.entries(preview.fields ?? {})
          .map(([field, why]) => `${field}: ${why}`)
          .join('; ')})`;
      output.classList.toggle('error', preview.description === undefined);
    } catch {
      // Offline or logged out: the Preview button still works.
    }
  };
  form.addEventListener('input', () => {
    clearTimeout(timer);
    timer = setTimeout(() => void refresh(), 250);
  });
}
