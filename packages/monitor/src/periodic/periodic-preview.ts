import { describeSchedule, type Schedule } from 'celeriac';
import {
  parseFields,
  SCHEDULE_FIELDS,
  type FieldErrors,
  type PeriodicField,
  type PeriodicFields,
} from './periodic-fields.ts';

const SCHEDULE_FIELD_SET = new Set<PeriodicField>(SCHEDULE_FIELDS);

/** The schedule of a form in plain words, or the errors of its schedule fields. */
export function previewSchedule(
  fields: PeriodicFields,
): { ok: true; description: string } | { ok: false; errors: FieldErrors } {
  // Name and task may still be blank while the schedule is being worked out.
  const parsed = parseFields({ ...fields, name: '-', task: '-', args: '[]', kwargs: '{}', expires: '' });
  if (parsed.ok) return { ok: true, description: describeSchedule(parsed.definition.schedule as Schedule) };
  const errors: FieldErrors = {};
  for (const [field, why] of Object.entries(parsed.errors) as Array<[PeriodicField, string]>)
    if (SCHEDULE_FIELD_SET.has(field)) errors[field] = why;
  return { ok: false, errors };
}
