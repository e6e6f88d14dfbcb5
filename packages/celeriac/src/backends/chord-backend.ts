import type { ResultBackend } from './backend.ts';

/**
 * Chord synchronisation a result backend can offer (celery/backends/redis.py `set_chord_size`,
 * `on_chord_part_return`). A backend that has it exposes a `chords` counter; one without it
 * (rpc://, memory) cannot run chords, and `chord()` says so before sending anything.
 */
export interface ChordCounter {
  /**
   * Records the header size (Redis `celery-taskset-meta-<gid>.s`; SQL: a counter row listing the
   * header ids), before the last header task is sent.
   */
  setChordSize(groupId: string, size: number, headerIds: readonly string[]): Promise<void>;
  /**
   * Adds one header task's final state. Resolves with every part in `group_index` order when this
   * one completed the chord (exactly one caller sees that), else undefined.
   */
  addPart(part: ChordPart): Promise<ChordPart[] | undefined>;
  /** Forgets the chord's counters once the body was sent (or its failure recorded). */
  release(groupId: string): Promise<void>;
}

/** One header task's outcome, as `[1, task_id, state, result]` in the Redis `.j` set. */
export interface ChordPart {
  groupId: string;
  taskId: string;
  /** `SUCCESS`, `FAILURE` or `REVOKED`. */
  state: string;
  /** The return value, or the exception dict for FAILURE/REVOKED. */
  result: unknown;
  /** Position in the header; null sorts last (Python's `"+inf"`). */
  groupIndex: number | null;
}

/** A backend with chord counters. */
export interface ChordBackend extends ResultBackend {
  readonly chords: ChordCounter;
}

/** The backend's chord counter, or undefined when it has none. */
export function chordCounterOf(backend: ResultBackend | undefined): ChordCounter | undefined {
  return (backend as Partial<ChordBackend> | undefined)?.chords;
}

/** Thrown by `chord()` when the result backend cannot synchronise a chord. */
export class ChordUnsupportedError extends Error {
  readonly code = 'CHORD_UNSUPPORTED';
  constructor(backendName: string | undefined) {
    super(
      backendName
        ? `the ${backendName} result backend cannot run chords: use a Redis or SQL result backend`
        : 'chord() needs a result backend that counts chord parts: configure `backend: "redis://..."`',
    );
    this.name = 'ChordUnsupportedError';
  }
}
