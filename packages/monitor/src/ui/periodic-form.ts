import { SOLAR_EVENTS } from 'celeriac';
import { html } from 'hono/html';
import {
  PERIODS,
  SCHEDULE_TYPES,
  type FieldErrors,
  type PeriodicField,
  type PeriodicFields,
} from '../periodic/periodic-fields.ts';
import { layout, type Html, type PageContext } from './layout.ts';
import { PERIODIC_PAGE, periodicPath } from './periodic-list.ts';

export interface PeriodicFormModel {
  /** The entry being edited; undefined for a new one. */
  original: string | undefined;
  fields: PeriodicFields;
  errors: FieldErrors;
  /** The schedule in plain words (or why it cannot be read), shown under the schedule. */
  preview: string | undefined;
  /** A problem with the whole form. */
  message: string | undefined;
  /** Task names workers registered, offered as suggestions. */
  taskNames: string[];
  editable: boolean;
}

const ZONES = (() => {
  try {
    return ['UTC', ...Intl.supportedValuesOf('timeZone').filter((z) => z !== 'UTC')];
  } catch {
    return ['UTC'];
  }
})();

/**
 * The create/edit form, with django-celery-beat's choices. It works without script: every schedule
 * kind has its fields on the page, the selected kind decides, and "Preview" re-renders the form with
 * the schedule in words. Each invalid field keeps its input and shows `.field-error[data-field]`.
 */
export function periodicFormPage(ctx: PageContext, m: PeriodicFormModel): Html {
  const f = m.fields;
  const error = (field: PeriodicField) =>
    m.errors[field]
      ? html`<span class="field-error error" data-field="${field}" role="alert">${m.errors[field]}</span>`
      : '';
  const text = (
    field: PeriodicField,
    label: string,
    hint = '',
    attrs: { list?: string; type?: string } = {},
  ) =>
    html`<label
      >${label}
      <input
        name="${field}"
        type="${attrs.type ?? 'text'}"
        value="${f[field]}"
        ${attrs.list ? html`list="${attrs.list}"` : ''}
        aria-invalid="${m.errors[field] ? 'true' : 'false'}"
      />
      ${hint ? html`<small>${hint}</small>` : ''} ${error(field)}</label
    >`;
  const select = (field: PeriodicField, label: string, options: readonly string[]) =>
    html`<label
      >${label}
      <select name="${field}">
        ${options.map((o) => html`<option value="${o}" ${f[field] === o ? 'selected' : ''}>${o}</option>`)}
      </select>
      ${error(field)}</label
    >`;
  const check = (field: PeriodicField, label: string) =>
    html`<label
      ><input type="checkbox" name="${field}" ${f[field] === 'on' ? 'checked' : ''} /> ${label}
      ${error(field)}</label
    >`;
  const title = m.original === undefined ? 'New periodic task' : `Periodic task ${m.original}`;
  return layout(
    ctx,
    title,
    PERIODIC_PAGE,
    html`<p><a href="${periodicPath(ctx)}">← all periodic tasks</a></p>
      ${m.message ? html`<p class="error" role="alert" id="form-error">${m.message}</p>` : ''}
      <form method="post" action="${periodicPath(ctx, m.original)}" id="periodic-form" class="periodic-form">
        <input type="hidden" name="_csrf" value="${ctx.csrf}" />
        <fieldset>
          <legend>Task</legend>
          ${text('name', 'Name', 'unique; shown in beat’s logs')}
          ${text('task', 'Task', 'the registered name, e.g. tasks.send_report', { list: 'task-names' })}
          <datalist id="task-names">${m.taskNames.map((n) => html`<option value="${n}"></option>`)}</datalist>
          ${text('args', 'Positional arguments (args)', 'JSON array, e.g. [1, "two"]')}
          ${text('kwargs', 'Keyword arguments (kwargs)', 'JSON object, e.g. {"to": "ops@example.com"}')}
          ${text('queue', 'Queue', 'empty: the task’s usual route')} ${check('enabled', 'Enabled')}
          ${check('one_off', 'One-off (run once, then disable)')}
          ${text('expires', 'Expires', 'a time (the entry stops then) or seconds each message may wait')}
        </fieldset>
        <fieldset>
          <legend>Schedule</legend>
          ${select('schedule_type', 'Kind', SCHEDULE_TYPES)}
          ${text('timezone', 'Time zone', 'crontab fields and times without a zone are read in it', {
            list: 'time-zones',
          })}
          <datalist id="time-zones">${ZONES.map((z) => html`<option value="${z}"></option>`)}</datalist>
          ${
            m.preview !== undefined
              ? html`<p class="preview">Runs: <output id="schedule-preview">${m.preview}</output></p>`
              : ''
          }
          <fieldset data-kind="interval">
            <legend>Interval</legend>
            ${text('every', 'Every', 'a number, e.g. 15')} ${select('period', 'Period', Object.keys(PERIODS))}
          </fieldset>
          <fieldset data-kind="crontab">
            <legend>Crontab</legend>
            ${text('minute', 'Minute', '0-59, *, */15, 0,30')} ${text('hour', 'Hour', '0-23')}
            ${text('day_of_week', 'Day of week', '0-6 or sun-sat; 1-5 = Monday to Friday')}
            ${text('day_of_month', 'Day of month', '1-31')} ${text('month_of_year', 'Month', '1-12')}
          </fieldset>
          <fieldset data-kind="solar">
            <legend>Solar</legend>
            ${select('solar_event', 'Event', SOLAR_EVENTS)} ${text('latitude', 'Latitude', '-90 to 90')}
            ${text('longitude', 'Longitude', '-180 to 180')}
          </fieldset>
          <fieldset data-kind="clocked">
            <legend>Clocked (once)</legend>
            ${text('clocked_time', 'At', 'read in the time zone above', { type: 'datetime-local' })}
          </fieldset>
        </fieldset>
        <div class="controls">
          ${
            m.editable
              ? html`<button type="submit" name="_action" value="save" id="periodic-save">Save</button>`
              : html`<span class="muted">read-only store</span>`
          }
          <button type="submit" name="_action" value="preview" id="periodic-preview">Preview schedule</button>
        </div>
      </form>`,
  );
}
