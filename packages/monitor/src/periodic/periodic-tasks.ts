import {
  BeatEntryError,
  describeSchedule,
  ScheduleError,
  entrySendOptions,
  nextDue,
  type BeatEntryDefinition,
  type Celeriac,
  type ScheduleJson,
  type ScheduleStore,
  type StoredEntry,
} from 'celeriac';
import { isEditable, type EditableScheduleStore } from './editable-store.ts';
import {
  defaultFields,
  fieldsOf,
  mergeFields,
  parseFields,
  type FieldErrors,
  type PeriodicFields,
} from './periodic-fields.ts';

/** One periodic task as the API returns it and the list page shows it. */
export interface PeriodicTaskView {
  name: string;
  task: string;
  schedule: ScheduleJson;
  /** In plain words: `every Monday at 07:30`. */
  description: string;
  enabled: boolean;
  one_off: boolean;
  args: unknown[];
  kwargs: Record<string, unknown>;
  queue: string | null;
  /** An ISO time (the entry stops then) or seconds each message may wait; null for none. */
  expires: string | number | null;
  last_run_at: string | null;
  /** From the schedule's own code and the stored last run; null when it will not run again. */
  next_run_at: string | null;
  total_run_count: number;
}

/** What a save answers: the entry's name, or an error per field (nothing was stored). */
export type SaveResult =
  { ok: true; name: string } | { ok: false; errors: FieldErrors; fields: PeriodicFields; message: string };

/** The store could not be read (its database is down): nothing was changed. */
export class ScheduleStoreUnavailableError extends Error {
  readonly code = 'schedule_store_unavailable';
}

/** Thrown for a change the store cannot make (the file scheduler is read-only here). */
export class ReadOnlyScheduleError extends Error {
  readonly code = 'read_only_schedule_store';
}

/**
 * The periodic-tasks admin over a schedule store: list with last and next runs, create, edit,
 * enable, disable, delete, and "run now", which sends the task as beat would.
 */
export class PeriodicTasks {
  constructor(
    private readonly app: Celeriac,
    readonly store: ScheduleStore,
  ) {}

  get editable(): boolean {
    return isEditable(this.store);
  }

  /** Every entry, by name. */
  async list(): Promise<StoredEntry[]> {
    const entries = await this.load();
    return entries.sort((a, b) => a.entry.name.localeCompare(b.entry.name));
  }

  async get(name: string): Promise<StoredEntry | undefined> {
    return (await this.load()).find((s) => s.entry.name === name);
  }

  private async load(): Promise<StoredEntry[]> {
    try {
      return await this.store.load();
    } catch (error) {
      throw new ScheduleStoreUnavailableError(
        `cannot read the schedule store ${this.store.description}: ${(error as Error).message}`,
        { cause: error },
      );
    }
  }

  view({ entry, state }: StoredEntry, nowMs = Date.now()): PeriodicTaskView {
    const next = nextDue(entry, state, nowMs);
    return {
      name: entry.name,
      task: entry.task,
      schedule: entry.schedule.toJSON(),
      description: describeSchedule(entry.schedule),
      enabled: isEnabled({ entry, state }),
      one_off: entry.oneOff,
      args: [...entry.args],
      kwargs: { ...entry.kwargs },
      queue: entry.options.queue ?? null,
      expires:
        entry.expireSeconds ??
        (entry.expiresAtMs === undefined ? null : new Date(entry.expiresAtMs).toISOString()),
      last_run_at: state.lastRunAtMs === undefined ? null : new Date(state.lastRunAtMs).toISOString(),
      next_run_at: next === null ? null : new Date(next).toISOString(),
      total_run_count: state.totalRunCount,
    };
  }

  /** The fields of a new entry's form. */
  newFields(): PeriodicFields {
    return defaultFields(this.app.conf.timezone ?? 'UTC');
  }

  fields(stored: StoredEntry): PeriodicFields {
    return fieldsOf(stored.entry, isEnabled(stored));
  }

  /**
   * Creates (`existing` undefined) or updates an entry from form or JSON input laid over `base`
   * fields. Renaming moves the entry (its run state starts again, as a new row in django-celery-beat).
   */
  async save(
    input: Record<string, unknown>,
    existing: StoredEntry | undefined,
    base: PeriodicFields,
  ): Promise<SaveResult> {
    const store = this.writable();
    const merged = mergeFields(base, input);
    const invalid = (errors: FieldErrors, why?: string): SaveResult => ({
      ok: false,
      errors,
      fields: merged.fields,
      message:
        why ??
        `invalid periodic task: ${Object.entries(errors)
          .map(([k, v]) => `${k}: ${v}`)
          .join('; ')}`,
    });
    if (merged.unknown.length > 0)
      return invalid(merged.errors, `unknown field(s): ${merged.unknown.join(', ')}`);
    // A new entry names its kind of schedule: a missing one must not quietly become "every minute".
    if (!existing && input.schedule_type === undefined)
      return invalid({ schedule_type: 'required: interval, crontab, solar or clocked' });
    const parsed = parseFields(merged.fields, existing ? extrasOf(existing) : {});
    if (!parsed.ok) return invalid({ ...parsed.errors, ...merged.errors });
    if (Object.keys(merged.errors).length > 0) return invalid(merged.errors);
    const renamed = existing !== undefined && parsed.name !== existing.entry.name;
    if ((!existing || renamed) && (await this.get(parsed.name)))
      return invalid({ name: `a periodic task named ${JSON.stringify(parsed.name)} already exists` });
    try {
      await store.upsert(parsed.name, parsed.definition);
    } catch (error) {
      // The store resolves the entry again before writing: a definition it refuses is the input's fault.
      if (error instanceof BeatEntryError || error instanceof ScheduleError)
        return invalid({ name: error.message });
      throw new ScheduleStoreUnavailableError(
        `cannot write to the schedule store ${this.store.description}: ${(error as Error).message}`,
        { cause: error },
      );
    }
    if (renamed) await store.remove(existing.entry.name);
    return { ok: true, name: parsed.name };
  }

  async setEnabled(name: string, enabled: boolean): Promise<void> {
    await this.writable().setEnabled(name, enabled);
  }

  async remove(name: string): Promise<void> {
    await this.writable().remove(name);
  }

  /** Sends the entry's task now, with the args, kwargs, queue and options beat would use. */
  async runNow({ entry }: StoredEntry): Promise<string> {
    const result = await this.app.sendTask(
      entry.task,
      [...entry.args],
      { ...entry.kwargs },
      entrySendOptions(entry),
    );
    return result.id;
  }

  private writable(): EditableScheduleStore {
    if (!isEditable(this.store)) {
      throw new ReadOnlyScheduleError(
        `the schedule store ${this.store.description} is read-only here: edit file entries in the app's beatSchedule, or run the monitor with -S db or -S django`,
      );
    }
    return this.store;
  }
}

function isEnabled({ entry, state }: StoredEntry): boolean {
  return entry.enabled && state.enabled !== false;
}

/** What an edit keeps that the form does not show. */
function extrasOf({ entry }: StoredEntry): Partial<BeatEntryDefinition> {
  return {
    exchange: entry.options.exchange,
    routingKey: entry.options.routingKey,
    priority: entry.options.priority,
    headers: entry.options.headers ? { ...entry.options.headers } : undefined,
    startTime: entry.startTimeMs === undefined ? undefined : new Date(entry.startTimeMs),
  };
}
