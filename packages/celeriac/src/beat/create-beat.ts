import type { Celeriac } from '../app/celeriac.ts';
import type { Logger } from '../util/logger.ts';
import { Beat } from './beat.ts';
import { BeatEntryError } from './errors.ts';
import type { BeatLease } from './lease/lease.ts';
import { ConfigFileStore } from './stores/config-file-store.ts';
import type { SqlScheduleStore } from './stores/sql/sql-schedule-store.ts';
import type { ScheduleStore } from './stores/store.ts';

export interface BeatSetup {
  /** `file`: entries from the app's `beatSchedule`, last runs in a JSON file; `db`: beat's own SQL tables. (Default: `file`) */
  scheduler?: 'file' | 'db' | 'django';
  /** State file for the file scheduler. (Default: the app's `beatScheduleFilename`) */
  scheduleFile?: string;
  /** Database for `db` and `django`. (Default: env CELERIAC_BEAT_DB_URL, else the app's backend when it is SQL) */
  dbUrl?: string;
  /** A Redis URL to share a lease among several beats. The `db` scheduler leases in its database without one. */
  leaseUrl?: string;
  /** (Default: 10 s) */
  leaseMs?: number;
  maxLoopIntervalMs?: number;
  missedRuns?: 'once' | 'catch-up';
  logger?: Logger;
}

const SQL_URL = /^(postgres|postgresql|mysql|mariadb|sqlite):/i;

/**
 * Opens the store a scheduler name stands for (`celeriac beat -S`, `celeriac monitor -S`):
 * `file` reads the app's `beatSchedule`; `db` and `django` connect to `setup.dbUrl`, else env
 * CELERIAC_BEAT_DB_URL, else the app's backend when it is SQL.
 */
export async function openScheduleStore(
  app: Celeriac,
  setup: Pick<BeatSetup, 'scheduler' | 'scheduleFile' | 'dbUrl' | 'logger'> = {},
): Promise<ScheduleStore> {
  const logger = setup.logger ?? app.logger;
  const scheduler = setup.scheduler ?? 'file';
  if (scheduler === 'file') {
    return new ConfigFileStore({
      entries: app.conf.beatSchedule,
      file: setup.scheduleFile ?? app.conf.beatScheduleFilename,
      timezone: app.conf.timezone,
    });
  }
  if (scheduler !== 'db' && scheduler !== 'django')
    throw new BeatEntryError(`unknown scheduler ${JSON.stringify(scheduler)}: use file, db or django`);
  const backend = app.conf.backend?.replace(/^db\+/, '');
  const url =
    setup.dbUrl ??
    process.env.CELERIAC_BEAT_DB_URL ??
    (backend && SQL_URL.test(backend) ? backend : undefined);
  if (!url) {
    throw new BeatEntryError(
      `the ${scheduler} scheduler needs a database: pass --db-url (postgresql://, mysql://, sqlite:///path.db) or set CELERIAC_BEAT_DB_URL`,
    );
  }
  if (scheduler === 'db') {
    const { SqlScheduleStore } = await import('./stores/sql/sql-schedule-store.ts');
    return new SqlScheduleStore({ url, timezone: app.conf.timezone, logger });
  }
  const { DjangoScheduleStore } = await import('./stores/django/django-schedule-store.ts');
  return new DjangoScheduleStore({ url, timezone: app.conf.timezone, logger });
}

/** Builds a Beat from command-line style settings (`celeriac beat`, `worker -B`). */
export async function createBeat(app: Celeriac, setup: BeatSetup = {}): Promise<Beat> {
  const logger = setup.logger ?? app.logger;
  const store = await openScheduleStore(app, setup);
  let lease: BeatLease | undefined;
  // The db scheduler leases in its own database unless a Redis lease is asked for.
  if (!setup.leaseUrl && setup.scheduler === 'db')
    lease = (store as SqlScheduleStore).lease({ leaseMs: setup.leaseMs });
  if (setup.leaseUrl) {
    const { RedisLease } = await import('./lease/redis-lease.ts');
    lease = new RedisLease({ redis: setup.leaseUrl, leaseMs: setup.leaseMs });
  }
  return new Beat(app, {
    store,
    lease,
    logger,
    maxLoopIntervalMs: setup.maxLoopIntervalMs,
    missedRuns: setup.missedRuns,
  });
}
