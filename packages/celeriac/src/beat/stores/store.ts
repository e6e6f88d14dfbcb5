import type { BeatEntry, EntryState } from '../entry.ts';

/** An entry as a store holds it: the definition and what beat remembers about its runs. */
export interface StoredEntry {
  readonly entry: BeatEntry;
  readonly state: EntryState;
}

/**
 * Where beat's entries and their run state live. Implementations: `ConfigFileStore` (entries
 * from config, state in a local JSON file) and `SqlScheduleStore` (both in SQL tables, editable
 * while beat runs). Every store runs the same conformance suite (test/beat/store-conformance.ts).
 */
export interface ScheduleStore {
  /** For logs and the banner: `file:/path`, `db:postgresql`. */
  readonly description: string;
  /** How often beat reloads entries to pick up edits; undefined loads once. */
  readonly reloadEveryMs: number | undefined;
  /** All entries, disabled ones included. Throws when the store cannot be read (beat keeps its last schedule). */
  load(): Promise<StoredEntry[]>;
  /** Records a run (or a one-off entry disabling itself). */
  saveState(name: string, state: EntryState): Promise<void>;
  close(): Promise<void>;
}
