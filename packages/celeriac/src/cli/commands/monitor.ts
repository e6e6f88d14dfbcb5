import type { Command } from 'commander';
import type { Celeriac } from '../../app/celeriac.ts';
import type { BeatSetup } from '../../beat/create-beat.ts';
import type { ScheduleStore } from '../../beat/stores/store.ts';
import { parseDuration } from '../../util/duration.ts';
import type { CliContext } from '../context.ts';
import { CliError, UsageError } from '../errors.ts';
import { say } from '../output.ts';
import { parseInteger } from '../parse.ts';
import { StopSignals, stopWithin } from '../stop-signals.ts';
import { action, examples } from './shared.ts';

interface MonitorCliOptions {
  port?: string;
  address?: string;
  db?: string;
  maxTasks?: string;
  retention?: string;
  user?: string;
  insecureNoAuth?: boolean;
  publicMetrics?: boolean;
  scheduler?: string;
  dbUrl?: string;
  brokerApi?: string;
}

/**
 * `celeriac monitor`: the web dashboard, REST API and Prometheus endpoint (Celery's `flower`).
 * The monitor lives in `@celeriac/monitor` and is loaded only when this command runs.
 */
export function registerMonitor(program: Command): void {
  const cmd = program
    .command('monitor')
    .description('Serve the web dashboard, REST API and /metrics for the cluster (like Flower).')
    .option('-p, --port <port>', 'HTTP port', '5555')
    .option('--address <host>', 'address to listen on', '127.0.0.1')
    .option(
      '--db <url>',
      'task history database (sqlite:///path.db or postgresql://…)',
      'sqlite://celeriac-monitor.db',
    )
    .option('--max-tasks <n>', 'tasks kept in memory', '100000')
    .option('--retention <duration>', 'how long task history is kept, e.g. 7d or 12h', '7d')
    .option(
      '--user <name>',
      'log-in user name (or CELERIAC_MONITOR_USER); the password comes from CELERIAC_MONITOR_PASSWORD',
    )
    .option(
      '--public-metrics',
      'serve /metrics without log-in (for a Prometheus scraper on a private network)',
    )
    .option('--insecure-no-auth', 'turn log-in off; allowed on localhost only, for development')
    .option(
      '--broker-api <url>',
      'RabbitMQ management API for the Queues page, e.g. http://guest:guest@localhost:15672/api/ (as Flower)',
    )
    .option(
      '-S, --scheduler <name>',
      'beat’s schedule store for the Periodic tasks page: db (beat’s SQL tables, editable), django (django-celery-beat’s, editable as in Django’s admin), file (the app’s beatSchedule, read-only)',
    )
    .option(
      '--db-url <url>',
      'db/django scheduler: postgresql://, mysql:// or sqlite:///path.db (default: CELERIAC_BEAT_DB_URL, else an SQL result backend)',
    )
    .addHelpText(
      'after',
      '\nEnvironment: CELERIAC_MONITOR_USER, CELERIAC_MONITOR_PASSWORD (plain or an scrypt hash), CELERIAC_MONITOR_TOKEN (API bearer token, 16+ characters).',
    )
    .action(action<MonitorCliOptions>('monitor', runMonitor, 'info'));
  examples(cmd, [
    'CELERIAC_MONITOR_USER=admin CELERIAC_MONITOR_PASSWORD=… celeriac -A tasks.ts monitor --port 5555',
    'celeriac -b amqp://guest:guest@localhost// monitor --insecure-no-auth',
    'celeriac -A tasks.ts monitor -S db --db-url postgresql://postgres@localhost/app   # edit periodic tasks',
  ]);
}

async function runMonitor(ctx: CliContext, opts: MonitorCliOptions): Promise<number> {
  const port = parseInteger(opts.port, '--port', 0, 65535) ?? 5555;
  const maxTasks = parseInteger(opts.maxTasks, '--max-tasks', 1) ?? 100_000;
  let retentionMs: number;
  try {
    retentionMs = parseDuration(opts.retention ?? '7d', '--retention');
  } catch (error) {
    throw new UsageError((error as Error).message);
  }
  let lib: typeof import('@celeriac/monitor');
  try {
    lib = await import('@celeriac/monitor');
  } catch (error) {
    throw new CliError('the monitor is a separate package: npm install @celeriac/monitor', { cause: error });
  }
  let auth;
  try {
    auth = opts.insecureNoAuth
      ? { insecureNoAuth: true }
      : await lib.authFromEnv(process.env, { user: opts.user });
  } catch (error) {
    throw new UsageError((error as Error).message);
  }
  const app = await ctx.app({ oneShot: false });
  // Listening from here on: a signal must also stop a monitor still connecting (issue 8).
  const stops = new StopSignals();
  try {
    return await serveUntilStopped(lib, app, opts, ctx, stops, { port, auth, maxTasks, retentionMs });
  } finally {
    stops.dispose();
  }
}

async function serveUntilStopped(
  lib: typeof import('@celeriac/monitor'),
  app: Celeriac,
  opts: MonitorCliOptions,
  ctx: CliContext,
  stops: StopSignals,
  settings: {
    port: number;
    auth: Parameters<typeof lib.serveMonitor>[1]['auth'];
    maxTasks: number;
    retentionMs: number;
  },
): Promise<number> {
  const { port, auth, maxTasks, retentionMs } = settings;
  const schedules = await openSchedules(app, opts, ctx);
  let served;
  try {
    const serving = lib.serveMonitor(app, {
      schedules,
      port,
      host: opts.address,
      auth,
      publicMetrics: opts.publicMetrics === true,
      ...(opts.brokerApi && { brokerApi: opts.brokerApi }),
      maxTasks,
      history: { url: opts.db, retentionMs },
      logger: ctx.logger,
    });
    served = await stops.duringStart('monitor', serving, () => app.close());
  } catch (error) {
    await schedules?.close().catch(() => undefined);
    if (error instanceof lib.MonitorConfigError || error instanceof lib.HistoryConfigError)
      throw new UsageError(error.message);
    throw error;
  }
  say(`celeriac monitor: ${served.url}`);
  try {
    const signal = await stops.received;
    ctx.logger.info(`monitor: stopping (${signal})`);
    return 0;
  } finally {
    // Stopping deletes the event queue: with the broker gone it would wait out the publish timeout.
    await stopWithin(served.close(), STOP_GRACE_MS, async () => {
      ctx.logger.warn(`monitor: broker unreachable after ${STOP_GRACE_MS} ms; closing its connection`);
      await app.close();
    });
    await schedules?.close();
  }
}

/** How long a stopping monitor waits for the broker before closing the connection under it. */
const STOP_GRACE_MS = 2_000;

/** Beat's store for the Periodic tasks page, opened by the same code as `celeriac beat -S`. */
async function openSchedules(
  app: Celeriac,
  opts: MonitorCliOptions,
  ctx: CliContext,
): Promise<ScheduleStore | undefined> {
  if (opts.scheduler === undefined) {
    if (opts.dbUrl !== undefined) throw new UsageError('--db-url needs -S db or -S django');
    return undefined;
  }
  if (!['db', 'django', 'file'].includes(opts.scheduler))
    throw new UsageError(
      `-S/--scheduler must be one of db, django, file, got ${JSON.stringify(opts.scheduler)}`,
    );
  const { openScheduleStore } = await import('../../beat/create-beat.ts');
  let store: ScheduleStore;
  try {
    store = await openScheduleStore(app, {
      scheduler: opts.scheduler as BeatSetup['scheduler'],
      dbUrl: opts.dbUrl,
      logger: ctx.logger,
    });
  } catch (error) {
    throw new UsageError((error as Error).message);
  }
  // Fail at start, not on the first page view, when the database cannot be reached.
  try {
    await store.load();
  } catch (error) {
    await store.close().catch(() => undefined);
    throw new UsageError(`cannot read the schedule store ${store.description}: ${(error as Error).message}`);
  }
  return store;
}
