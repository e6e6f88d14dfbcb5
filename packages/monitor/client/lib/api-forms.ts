import { postJson } from './api.ts';

/**
 * Forms marked `data-api="<url>"` post their fields as JSON with the CSRF header and show the
 * answer in their `<output>`; `data-confirm` asks first. Without JavaScript they do nothing
 * harmful: their method is GET with no action, so the page just reloads.
 */
export function bindApiForms(root: ParentNode = document): void {
  root.querySelectorAll<HTMLFormElement>('form[data-api]').forEach((form) => {
    form.addEventListener('submit', (event) => {
      event.preventDefault();
      if (form.dataset.confirm && !window.confirm(form.dataset.confirm)) return;
      const out = form.querySelector('output');
      const body: Record<string, string> = {};
      new FormData(form).forEach((value, key) => {
        if (typeof value === 'string') body[key] = value;
      });
      postJson(form.dataset.api ?? '', body).then(
        (reply) => {
          if (out) out.textContent = reply.error ? reply.error.message : (reply.message ?? 'done');
          form.dispatchEvent(new CustomEvent('api-done', { detail: reply }));
        },
        (error: unknown) => {
          if (out) out.textContent = String(error);
        },
      );
    });
  });
}
