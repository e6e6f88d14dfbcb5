import { mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import type { Logger } from '../util/logger.ts';
import type { RevokedSet } from './revoked-set.ts';

/** The statedb file exists but cannot be used (unreadable or not ours). */
export class StateDbError extends Error {
  readonly code = 'STATEDB_INVALID';
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'StateDbError';
  }
}

interface StateFile {
  format: 'celeriac-statedb';
  version: 1;
  /** id → epoch ms it leaves the set. */
  revoked: Record<string, number>;
}

/**
 * `--statedb`: the worker's revoked set kept across restarts (celery/worker/state.py
 * `Persistent`, which pickles it into a shelve file; ours is JSON, written atomically by
 * rename). Saved shortly after each change and at shutdown; expired ids are dropped on load.
 * A file that is not JSON is moved aside (`<path>.corrupt-<ms>`) with a warning, never deleted.
 */
export class StateDb {
  private timer: NodeJS.Timeout | undefined;

  constructor(
    readonly path: string,
    private readonly revoked: RevokedSet,
    private readonly logger: Logger,
    private readonly saveDelayMs = 1_000,
  ) {}

  /** Loads the file into the revoked set; returns the ids restored. */
  load(): number {
    let text: string;
    try {
      text = readFileSync(this.path, 'utf8');
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return 0;
      throw new StateDbError(`cannot read statedb ${this.path}: ${(error as Error).message}`, {
        cause: error,
      });
    }
    let data: Partial<StateFile>;
    try {
      data = JSON.parse(text) as Partial<StateFile>;
      if (data?.format !== 'celeriac-statedb' || typeof data.revoked !== 'object' || !data.revoked)
        throw new Error('not a celeriac statedb (no "format": "celeriac-statedb")');
    } catch (error) {
      const aside = `${this.path}.corrupt-${Date.now()}`;
      renameSync(this.path, aside);
      this.logger.warn(
        { path: this.path, movedTo: aside, err: error },
        `statedb ${this.path} is unreadable (${(error as Error).message}); moved it to ${aside} and starting with an empty revoked set`,
      );
      return 0;
    }
    const now = Date.now();
    let restored = 0;
    for (const [id, expiresAt] of Object.entries(data.revoked)) {
      if (typeof expiresAt !== 'number' || expiresAt <= now) continue;
      this.revoked.restore(id, expiresAt, now);
      restored++;
    }
    this.logger.info(
      { path: this.path, revoked: restored },
      `restored ${restored} revoked id(s) from ${this.path}`,
    );
    return restored;
  }

  /** Something changed: save soon (coalesced). */
  changed(): void {
    if (this.timer) return;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.trySave();
    }, this.saveDelayMs);
    this.timer.unref();
  }

  /** Writes now (shutdown). */
  save(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
    const data: StateFile = {
      format: 'celeriac-statedb',
      version: 1,
      revoked: Object.fromEntries(this.revoked.entries()),
    };
    mkdirSync(dirname(this.path), { recursive: true });
    const tmp = `${this.path}.tmp-${process.pid}`;
    writeFileSync(tmp, JSON.stringify(data));
    renameSync(tmp, this.path);
  }

  trySave(): void {
    try {
      this.save();
    } catch (error) {
      this.logger.error({ err: error, path: this.path }, `could not save statedb ${this.path}`);
    }
  }
}
