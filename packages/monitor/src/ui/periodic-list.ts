import { html } from 'hono/html';
import type { PeriodicTaskView } from '../periodic/periodic-tasks.ts';
import { formatTime, layout, type Html, type PageContext } from './layout.ts';

/** The page name (`body[data-page]`); also what the nav link matches. */
export const PERIODIC_PAGE = 'periodic tasks';

/** What the last change did, shown above the list after its redirect. */
export interface PeriodicNotice {
  text: string;
  /** A task id to link to (after "run now"). */
  taskId?: string;
}

/**
 * `/periodic`, an entry's `/periodic/<name>` (where its form posts) or `/periodic/<name>/<action>`
 * (`edit` for its form). `encodeURIComponent` keeps a `/` in a name inside its one path segment.
 */
export function periodicPath(ctx: PageContext, name?: string, action?: string): string {
  const base = `${ctx.base}/periodic`;
  if (name === undefined) return base;
  return `${base}/${encodeURIComponent(name)}${action ? `/${action}` : ''}`;
}

const time = (iso: string | null) => (iso === null ? '—' : formatTime(Date.parse(iso) / 1000));

/** The list, as django-celery-beat's admin: name, task, schedule in words, enabled, last and next run, runs. */
export function periodicListPage(
  ctx: PageContext,
  store: { description: string; editable: boolean },
  tasks: PeriodicTaskView[],
  notice: PeriodicNotice | undefined,
): Html {
  const button = (name: string, action: string, label: string, cls = '') =>
    html`<form method="post" action="${periodicPath(ctx, name, action)}" class="inline">
      <input type="hidden" name="_csrf" value="${ctx.csrf}" /><button
        type="submit"
        class="${cls}"
        data-action="${action}"
      >
        ${label}
      </button>
    </form>`;
  return layout(
    ctx,
    'Periodic tasks',
    PERIODIC_PAGE,
    html`${
        notice
          ? html`<p class="notice" role="status" id="periodic-notice">
              ${notice.text}
              ${
                notice.taskId
                  ? html`<a href="${ctx.base}/task/${encodeURIComponent(notice.taskId)}">${notice.taskId}</a>`
                  : ''
              }
            </p>`
          : ''
      }
      <p class="muted">
        Store: <code>${store.description}</code>
        ${
          store.editable
            ? html` · <a href="${periodicPath(ctx)}/new" id="periodic-new">Add a periodic task</a>`
            : html` · read-only here (file entries live in the app’s beatSchedule; -S db or -S django makes
              the schedule editable)`
        }
      </p>
      ${
        tasks.length === 0
          ? html`<p id="periodic-empty">No periodic tasks yet.</p>`
          : html`<table class="list" id="periodic">
              <thead>
                <tr>
                  <th>Name</th>
                  <th>Task</th>
                  <th>Schedule</th>
                  <th>Enabled</th>
                  <th>Last run</th>
                  <th>Next run</th>
                  <th>Runs</th>
                  <th>Actions</th>
                </tr>
              </thead>
              <tbody>
                ${tasks.map(
                  (t) =>
                    html`<tr data-periodic="${t.name}">
                      <td data-field="name"><a href="${periodicPath(ctx, t.name, 'edit')}">${t.name}</a></td>
                      <td data-field="task">${t.task}</td>
                      <td data-field="schedule">${t.description}${t.one_off ? ' (once)' : ''}</td>
                      <td data-field="enabled" class="${t.enabled ? 'online' : 'offline'}">
                        ${t.enabled ? 'yes' : 'no'}
                      </td>
                      <td data-field="last_run_at">${time(t.last_run_at)}</td>
                      <td data-field="next_run_at">${t.enabled ? time(t.next_run_at) : '—'}</td>
                      <td data-field="total_run_count">${t.total_run_count}</td>
                      <td class="actions">
                        ${
                          store.editable
                            ? t.enabled
                              ? button(t.name, 'disable', 'Disable')
                              : button(t.name, 'enable', 'Enable')
                            : ''
                        }
                        ${button(t.name, 'run', 'Run now')}
                        ${store.editable ? button(t.name, 'delete', 'Delete', 'danger') : ''}
                      </td>
                    </tr>`,
                )}
              </tbody>
            </table>`
      }`,
  );
}

/** The page shown when the monitor has no schedule store. */
export function periodicUnconfiguredPage(ctx: PageContext, how: string): Html {
  return layout(
    ctx,
    'Periodic tasks',
    PERIODIC_PAGE,
    html`<p id="periodic-unconfigured">${how}</p>
      <pre>celeriac -A tasks.ts monitor -S db --db-url postgresql://user@localhost/app</pre>`,
  );
}
