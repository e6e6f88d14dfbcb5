import { html } from 'hono/html';
import { clientScript } from './client-script.ts';
import { listResults, publicView, TASK_ID, type SiteDeps, type StoredResult } from './deps.ts';
import { stateBadge } from './layout.ts';
import type { Render, Site } from './site.ts';

const READY = new Set(['SUCCESS', 'FAILURE', 'REVOKED']);

/** The seed's step 5 of section 6 (django-celery-results): stored results, and one task live. */
export function registerTasksRoutes(site: Site, deps: SiteDeps, render: Render): void {
  const { app } = deps.tasks;

  const rows = (results: StoredResult[]) =>
    results.length === 0
      ? html`<tr>
          <td colspan="4" class="muted">No tasks yet. <a href="/add">Add two numbers</a>.</td>
        </tr>`
      : results.map((r) => {
          const created = new Date(r.created_at_ms).toISOString();
          const view = publicView(r);
          return html`<tr data-task-row="${r.task_id}">
            <td>
              <a href="/tasks/${r.task_id}"><code>${r.name ?? r.task_id.slice(0, 8)}</code></a>
              <div class="muted"><code>${view.args}</code></div>
            </td>
            <td>${stateBadge(r.status)}</td>
            <td class="wrap" data-result>${view.result}</td>
            <td class="muted narrow-hide" title="${created}">${created.slice(11, 19)}</td>
          </tr>`;
        });

  site.get('/tasks', async (c) => {
    const results = await listResults(app, 50);
    if (c.req.query('fragment') === 'rows') return c.html(html`${results ? rows(results) : ''}`);
    const body = results
      ? html`<h1>Tasks</h1>
          <p class="lead">The last 50 stored results, newest first (live).</p>
          <div class="scroll">
            <table>
              <thead>
                <tr>
                  <th>Task</th>
                  <th>State</th>
                  <th>Result</th>
                  <th class="narrow-hide">Created (UTC)</th>
                </tr>
              </thead>
              <tbody data-refresh="/tasks?fragment=rows" data-every="2000">
                ${rows(results)}
              </tbody>
            </table>
          </div>
          ${clientScript()}`
      : html`<h1>Tasks</h1>
          <div class="notice bad">
            This result backend cannot list results; use an SQL backend (<code>sqlite:///…</code>,
            <code>postgresql://…</code>).
          </div>`;
    return c.html(render(c, 'Tasks', body));
  });

  site.get('/tasks/:id', async (c) => {
    const id = c.req.param('id');
    if (!TASK_ID.test(id)) return c.notFound();
    const meta = await app.AsyncResult(id).meta();
    const view = publicView(meta);
    const eta = Number(c.req.query('eta') ?? 0);
    return c.html(
      render(
        c,
        `Task ${id.slice(0, 8)}`,
        html`<h1>Task</h1>
          <section class="card" data-task-id="${id}" data-eta="${Number.isFinite(eta) ? eta : 0}">
            <dl>
              <dt>Id</dt>
              <dd><code>${id}</code></dd>
              <dt>Name</dt>
              <dd><code data-name>${meta.name ?? ''}</code></dd>
              <dt>Args</dt>
              <dd><code>${view.args}</code></dd>
              <dt>State</dt>
              <dd>
                <span data-state class="state state-${meta.status}">${meta.status}</span>
                <span class="muted" data-countdown></span>
              </dd>
              <dt>Result</dt>
              <dd><output class="big" data-result>${view.result}</output></dd>
            </dl>
          </section>
          <noscript
            >${READY.has(meta.status) ? '' : html`<p><a href="">Reload</a> to see the result.</p>`}</noscript
          >
          <p><a href="/add">Add again</a> · <a href="/tasks">All tasks</a></p>
          ${clientScript()}`,
      ),
    );
  });

  site.get('/api/tasks/:id', async (c) => {
    const id = c.req.param('id');
    if (!TASK_ID.test(id)) return c.json({ error: 'not a task id' }, 404);
    const meta = await app.AsyncResult(id).meta();
    const view = publicView(meta);
    return c.json({
      id,
      state: meta.status,
      ready: READY.has(meta.status),
      name: meta.name ?? null,
      result: view.value,
      resultText: view.result,
      retries: meta.retries ?? null,
      dateDone: meta.date_done,
    });
  });
}
