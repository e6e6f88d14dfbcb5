import { describeSchedule, type Schedule } from 'celeriac';
import { parseFields, type FieldErrors, type PeriodicField, type PeriodicFields } from './periodic-fields.ts';

/** The fields that make up a schedule; the others do not change its description. */
const SCHEDULE_FIELDS = new Set<PeriodicField>([
  'schedule_type',
  'every',
  'period',
  'minute',
  'hour',
  'day_of_week',
  'day_of_month',
  'month_of_year',
  'timezone',
  'solar_event',
  'latitude',
  'longitude',
  'clocked_time',
]);

/** The schedule of a form in plain words, or the errors of its schedule fields. */
export function previewSchedule(
  fields: PeriodicFields,
): { ok: true; description: string } | { ok: false; errors: FieldErrors } {
  // Name and task may still be blank while the schedule is being worked out.
  const parsed = parseFields({ ...fields, name: '-', task: '-', args: '[]', kwargs: '{}', expires: '' });
  if (parsed.ok) return { ok: true, description: describeSchedule(parsed.definition.schedule as Schedule) };
  const errors: FieldErrors = {};
  for (const [field, why] of Object.entries(parsed.errors) as Array<[PeriodicField, string]>)
    if (SCHEDULE_FIELDS.has(field)) errors[field] = why;
  return { ok: false, errors };
}
