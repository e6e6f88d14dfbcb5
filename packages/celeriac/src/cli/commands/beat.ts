import type { Command } from 'commander';
import type { Beat, BeatEntryInfo } from '../../beat/beat.ts';
import type { BeatSetup } from '../../beat/create-beat.ts';
import { celeriacVersion } from '../../control/version.ts';
import { redactUrl } from '../../util/ids.ts';
import type { CliContext } from '../context.ts';
import type { Celeriac } from '../../app/celeriac.ts';
import type { Logger } from '../../util/logger.ts';
import { CliError, UsageError } from '../errors.ts';
import { say } from '../output.ts';
import { parseInteger, parseSeconds } from '../parse.ts';
import { StopSignals, stopWithin } from '../stop-signals.ts';
import { action, examples } from './shared.ts';

interface BeatCliOptions {
  scheduler?: string;
  schedule?: string;
  dbUrl?: string;
  leaseUrl?: string;
  leaseTimeout?: string;
  maxInterval?: string;
  missedRuns?: string;
  list?: boolean | string;
}

const SCHEDULERS = ['file', 'db', 'django'];

/** `celeriac beat`: sends periodic tasks until SIGTERM/SIGINT (celery/bin/beat.py). */
export function registerBeat(program: Command): void {
  const cmd = program
    .command('beat')
    .description('Start the periodic task scheduler: send each entry’s task when it is due.')
    .option(
      '-S, --scheduler <name>',
      `where entries live: file (the app’s beatSchedule), db (beat’s SQL tables), django (django-celery-beat’s tables)`,
      'file',
    )
    .option(
      '-s, --schedule <file>',
      'file scheduler: where last-run times are kept (default: the app’s beatScheduleFilename)',
    )
    .option(
      '--db-url <url>',
      'db/django scheduler: postgresql://, mysql:// or sqlite:///path.db (default: CELERIAC_BEAT_DB_URL, else an SQL result backend)',
    )
    .option(
      '--lease-url <redis-url>',
      'share a lease in Redis so several beats can run and only one sends (db: the database holds it without this)',
    )
    .option(
      '--lease-timeout <seconds>',
      'the lease lapses this long after its holder stops renewing it; another beat takes over',
      '10',
    )
    .option(
      '--max-interval <seconds>',
      'longest sleep between checks (default: the app’s beatMaxLoopInterval, 300)',
    )
    .option(
      '--missed-runs <policy>',
      'once (as Celery: a missed run fires once) or catch-up (every missed slot)',
      'once',
    )
    .option('--list [n]', 'print each entry with its next n run times (default 3) and exit')
    .action(action<BeatCliOptions>('beat', (ctx, opts) => runBeat(ctx, opts), 'info'));
  examples(cmd, [
    'celeriac -A tasks.ts beat -l info',
    'celeriac -A tasks.ts beat --list 5',
    'celeriac -A tasks.ts beat -S db --db-url postgresql://postgres@localhost/app',
    'celeriac -A tasks.ts beat --lease-url redis://localhost:6379/0   # on two hosts: one sends',
  ]);
}

async function runBeat(ctx: CliContext, opts: BeatCliOptions): Promise<number> {
  const scheduler = opts.scheduler ?? 'file';
  if (!SCHEDULERS.includes(scheduler)) {
    throw new UsageError(
      `-S/--scheduler must be one of ${SCHEDULERS.join(', ')}, got ${JSON.stringify(scheduler)}`,
    );
  }
  const missedRuns = opts.missedRuns ?? 'once';
  if (missedRuns !== 'once' && missedRuns !== 'catch-up') {
    throw new UsageError(`--missed-runs must be once or catch-up, got ${JSON.stringify(missedRuns)}`);
  }
  const leaseSeconds = parseSeconds(opts.leaseTimeout, '--lease-timeout');
  const maxIntervalSeconds = parseSeconds(opts.maxInterval, '--max-interval');
  const listCount =
    opts.list === undefined
      ? undefined
      : typeof opts.list === 'string'
        ? parseInteger(opts.list, '--list', 1, 1000)
        : 3;
  const app = await ctx.app({ required: true });
  const { createBeat } = await import('../../beat/create-beat.ts');
  const setup: BeatSetup = {
    scheduler: scheduler as BeatSetup['scheduler'],
    scheduleFile: opts.schedule,
    dbUrl: opts.dbUrl,
    leaseUrl: opts.leaseUrl,
    leaseMs: leaseSeconds === undefined ? undefined : leaseSeconds * 1000,
    maxLoopIntervalMs: maxIntervalSeconds === undefined ? undefined : maxIntervalSeconds * 1000,
    missedRuns,
    logger: ctx.logger,
  };
  // Listening from here on: a signal must also stop a beat that is still connecting (issue 8).
  const stops = listCount === undefined ? new StopSignals() : undefined;
  try {
    let beat: Beat;
    try {
      beat = await (stops
        ? stops.duringStart('beat', createBeat(app, setup), () => app.close())
        : createBeat(app, setup));
    } catch (error) {
      if (error instanceof CliError) throw error;
      throw new UsageError((error as Error).message);
    }
    if (!stops) {
      try {
        say(formatEntries(await beat.listEntries(listCount ?? 3)));
      } finally {
        await beat.stop();
      }
      return 0;
    }
    try {
      await stops.duringStart('beat', beat.start(), () => app.close());
    } catch (error) {
      await beat.stop().catch(() => undefined);
      throw error;
    }
    say(banner(beat, app.conf.broker, scheduler));
    const signal = await stops.received;
    ctx.logger.warn(`beat: stopping (${signal})`);
    await stopBeat(beat, app, ctx.logger);
    return 0;
  } finally {
    stops?.dispose();
  }
}

/** How long a stopping beat may finish a send or a lease call before their connections are closed under it. */
const STOP_GRACE_MS = 2_000;

/**
 * Stops the loop. A send still retrying the broker after STOP_GRACE_MS (one that refuses the
 * connection, with brokerConnectionMaxRetries set high), or a lease call waiting for an unreachable
 * Redis, is ended by closing the broker connection and the lease: the slot is unclaimed, so the next
 * beat sends it.
 */
async function stopBeat(beat: Beat, app: Celeriac, logger: Logger): Promise<void> {
  await stopWithin(beat.stop(), STOP_GRACE_MS, async () => {
    logger.warn(
      `beat: still waiting for the broker or the lease after ${STOP_GRACE_MS} ms; closing their connections`,
    );
    await Promise.all([app.close(), beat.lease.close()]);
  });
}

/** The start banner, after Celery's (celery/apps/beat.py `startup_info`). */
function banner(beat: Beat, broker: string, scheduler: string): string {
  return [
    `celeriac beat v${celeriacVersion()} is starting.`,
    `LocalTime -> ${new Date().toISOString().replace('T', ' ').slice(0, 19)}`,
    'Configuration ->',
    `    . broker -> ${redactUrl(broker)}`,
    `    . scheduler -> ${scheduler}`,
    `    . db -> ${beat.store.description}`,
    `    . lease -> ${beat.lease.description}`,
  ].join('\n');
}

/** `beat --list`: one block per entry, its schedule in plain words. */
export function formatEntries(entries: BeatEntryInfo[]): string {
  if (entries.length === 0) return '(no periodic tasks)';
  return entries
    .map((e) => {
      const state = e.enabled ? '' : ' [disabled]';
      const last = e.lastRunAt ? e.lastRunAt.toISOString() : 'never';
      const next =
        e.nextRuns.length > 0 ? e.nextRuns.map((d) => `    - ${d.toISOString()}`) : ['    - (none)'];
      return [
        `${e.name}${state}: ${e.task}, ${e.description}`,
        `  last run: ${last} (${e.totalRunCount} runs)`,
        '  next:',
        ...next,
      ].join('\n');
    })
    .join('\n');
}
