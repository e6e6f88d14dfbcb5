import { html } from 'hono/html';
import type { Html, PageContext } from './layout.ts';
import type { RegisteredTask } from './worker-inspection.ts';

/** The reply to the last control posted without script (from the redirect's query string). */
export interface ControlNotice {
  control: string;
  ok?: string;
  error?: string;
}

export function workerApi(ctx: PageContext, path: string, worker: string): string {
  return `${ctx.base}/api/worker/${path}/${encodeURIComponent(worker)}`;
}

/**
 * One control: a form that script posts as JSON (`data-api`, the reply lands in its `<output>`),
 * and that without script posts itself with the CSRF field and `_page`, and comes back to the
 * worker page with the reply shown in the same place.
 */
export function controlForm(
  ctx: PageContext,
  options: {
    key: string;
    action: string;
    worker: string;
    notice: ControlNotice | undefined;
    confirm?: string;
    className?: string;
  },
  fields: Html | string,
): Html {
  const notice = options.notice?.control === options.key ? options.notice : undefined;
  return html`<form
    method="post"
    action="${options.action}"
    data-api="${options.action}"
    id="control-${options.key}"
    class="control ${options.className ?? ''}"
    ${options.confirm ? html`data-confirm="${options.confirm}"` : ''}
  >
    <input type="hidden" name="_csrf" value="${ctx.csrf}" />
    <input type="hidden" name="_page" value="${options.key}" />
    <input type="hidden" name="_worker" value="${options.worker}" />
    ${fields}
    <output class="${notice?.error ? 'error' : notice?.ok ? 'ok' : ''}"
      >${notice?.error ?? notice?.ok ?? ''}</output
    >
  </form>`;
}

function taskSelect(tasks: RegisteredTask[]): Html {
  return html`<select name="taskname" required>
    ${tasks.map((t) => html`<option>${t.name}</option>`)}
  </select>`;
}

/** Pool size, autoscale, consumers and shutdown (Flower's "Pool" and "Queues" controls). */
export function poolControls(
  ctx: PageContext,
  worker: string,
  notice: ControlNotice | undefined,
  autoscaler: { max: number | null; min: number | null } | undefined,
): Html {
  const form = (key: string, path: string, fields: Html | string, confirm?: string) =>
    controlForm(ctx, { key, action: workerApi(ctx, path, worker), worker, notice, confirm }, fields);
  return html`<div class="controls">
    ${form('pool-grow', 'pool/grow', html`<label>Grow pool by <input name="n" type="number" min="1" max="100" value="1" /></label><button type="submit">Grow</button>`)}
    ${form('pool-shrink', 'pool/shrink', html`<label>Shrink pool by <input name="n" type="number" min="1" max="100" value="1" /></label><button type="submit">Shrink</button>`)}
    ${form(
      'autoscale',
      'pool/autoscale',
      html`<label
          >${autoscaler ? 'Autoscale max' : 'Autoscale (off on this worker) max'}
          <input name="max" type="number" min="1" max="1000" required value="${autoscaler?.max ?? ''}"
        /></label>
        <label
          >min <input name="min" type="number" min="0" max="1000" required value="${autoscaler?.min ?? ''}"
        /></label>
        <button type="submit">Apply</button>`,
    )}
    ${form('add-consumer', 'queue/add-consumer', html`<label>Consume from queue <input name="queue" required maxlength="255" /></label><button type="submit">Add consumer</button>`)}
    ${form('shutdown', 'shutdown', html`<button type="submit" class="danger">Shut down</button>`, `Shut down ${worker}?`)}
  </div>`;
}

/**
 * Per-task rate and time limits (Flower's "Limits" tab). Flower's paths carry the task
 * (`/api/task/rate-limit/<task>`), which a plain form cannot fill from a select: these post to
 * `/api/task/rate-limit` and `/api/task/timeout` with the task in `taskname`.
 */
export function limitControls(
  ctx: PageContext,
  worker: string,
  notice: ControlNotice | undefined,
  tasks: RegisteredTask[],
): Html {
  if (tasks.length === 0) return html`<p>No registered tasks reported, so no limits to set.</p>`;
  const form = (key: string, kind: string, fields: Html) =>
    controlForm(
      ctx,
      { key, action: `${ctx.base}/api/task/${kind}`, worker, notice },
      html`<input type="hidden" name="workername" value="${worker}" />${fields}`,
    );
  return html`<div class="controls">
    ${form(
      'rate-limit',
      'rate-limit',
      html`<label>Task ${taskSelect(tasks)}</label>
        <label>Rate limit <input name="ratelimit" required placeholder="10/m" maxlength="20" /></label>
        <button type="submit">Set rate limit</button>`,
    )}
    ${form(
      'time-limit',
      'timeout',
      html`<label>Task ${taskSelect(tasks)}</label>
        <label>Soft (s) <input name="soft" type="number" min="0" step="any" /></label>
        <label>Hard (s) <input name="hard" type="number" min="0" step="any" /></label>
        <button type="submit">Set time limits</button>`,
    )}
  </div>`;
}
