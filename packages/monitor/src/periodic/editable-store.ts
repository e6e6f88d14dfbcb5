import type { BeatEntryDefinition, ScheduleStore } from 'celeriac';

/**
 * A schedule store the monitor can edit: celeriac's `SqlScheduleStore` and `DjangoScheduleStore`
 * are. Beat picks the edits up on its next reload (every 5 s by default). A plain `ScheduleStore`
 * (the file scheduler) is shown read-only.
 */
export interface EditableScheduleStore extends ScheduleStore {
  /** Adds or replaces an entry; run state is kept when the name exists. Throws on a bad definition. */
  upsert(name: string, def: BeatEntryDefinition): Promise<void>;
  remove(name: string): Promise<void>;
  setEnabled(name: string, enabled: boolean): Promise<void>;
}

export function isEditable(store: ScheduleStore): store is EditableScheduleStore {
  const s = store as Partial<EditableScheduleStore>;
  return (
    typeof s.upsert === 'function' && typeof s.remove === 'function' && typeof s.setEnabled === 'function'
  );
}
