import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import { resolveEntry, type BeatEntryDefinition, type EntryState } from '../entry.ts';
import type { ScheduleStore, StoredEntry } from './store.ts';

export interface ConfigFileStoreOptions {
  /** The entries (the app's `beatSchedule`). */
  entries: Record<string, BeatEntryDefinition>;
  /** JSON file keeping last-run times across restarts; none keeps them in memory only. */
  file?: string;
  /** Zone for crontab entries that name none. (Default: UTC) */
  timezone?: string;
}

interface StateFile {
  version: 1;
  entries: Record<
    string,
    { lastRunAt?: string; lastSlot?: string; totalRunCount: number; enabled?: boolean }
  >;
}

/**
 * Entries from config, last-run times in a local JSON file: the equivalent of Celery's
 * `PersistentScheduler` (`celery/beat.py`), whose shelve file TypeScript cannot read.
 * State of entries no longer in config is kept in the file (an entry may come back).
 */
export class ConfigFileStore implements ScheduleStore {
  readonly description: string;
  readonly reloadEveryMs = undefined;
  private readonly states = new Map<string, EntryState>();
  private loaded = false;
  private writing: Promise<void> = Promise.resolve();

  constructor(private readonly options: ConfigFileStoreOptions) {
    this.description = options.file ? `file:${options.file}` : 'config (memory)';
  }

  async load(): Promise<StoredEntry[]> {
    const entries = Object.entries(this.options.entries).map(([name, def]) =>
      resolveEntry(name, def, this.options.timezone),
    );
    if (!this.loaded) {
      await this.readFile();
      this.loaded = true;
    }
    return entries.map((entry) => ({
      entry,
      state: { ...(this.states.get(entry.name) ?? { totalRunCount: 0 }) },
    }));
  }

  saveState(name: string, state: EntryState): Promise<void> {
    this.states.set(name, { ...state });
    // One write at a time, each with everything known so far; a failed write does not stop the next.
    this.writing = this.writing.catch(() => undefined).then(() => this.writeFile());
    return this.writing;
  }

  async close(): Promise<void> {
    await this.writing.catch(() => undefined);
  }

  private async readFile(): Promise<void> {
    const file = this.options.file;
    if (!file) return;
    let text: string;
    try {
      text = await readFile(file, 'utf8');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return;
      throw err;
    }
    let data: StateFile;
    try {
      data = JSON.parse(text) as StateFile;
      if (data?.version !== 1 || typeof data.entries !== 'object')
        throw new Error('not a version 1 state file');
    } catch (cause) {
      // A broken state file loses only last-run times; refusing to start would lose every run.
      throw new Error(
        `beat state file ${file} is not valid (${(cause as Error).message}); delete it to start afresh`,
        {
          cause,
        },
      );
    }
    for (const [name, s] of Object.entries(data.entries)) {
      this.states.set(name, {
        lastRunAtMs: s.lastRunAt ? Date.parse(s.lastRunAt) : undefined,
        lastSlotMs: s.lastSlot ? Date.parse(s.lastSlot) : undefined,
        totalRunCount: s.totalRunCount ?? 0,
        enabled: s.enabled,
      });
    }
  }

  private async writeFile(): Promise<void> {
    const file = this.options.file;
    if (!file) return;
    const data: StateFile = { version: 1, entries: {} };
    for (const [name, s] of this.states) {
      data.entries[name] = {
        lastRunAt: s.lastRunAtMs === undefined ? undefined : new Date(s.lastRunAtMs).toISOString(),
        lastSlot: s.lastSlotMs === undefined ? undefined : new Date(s.lastSlotMs).toISOString(),
        totalRunCount: s.totalRunCount,
        enabled: s.enabled,
      };
    }
    await mkdir(dirname(file), { recursive: true });
    // Write then rename, so a crash mid-write leaves the previous file whole.
    const tmp = `${file}.${process.pid}.tmp`;
    await writeFile(tmp, JSON.stringify(data, null, 2) + '\n');
    await rename(tmp, file);
  }
}
