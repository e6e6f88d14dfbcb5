import type { AddressInfo } from 'node:net';
import { serve, type ServerType } from '@hono/node-server';
import { createBeat, SqlScheduleStore, Worker, type Beat, type Celeriac } from 'celeriac';
import type { Logger } from 'pino';
import type { SiteConfig } from './config.ts';
import { createTasks, type FeedbackTasks } from './create-tasks.ts';
import {
  isMonitorPath,
  monitorAuth,
  MONITOR_PATH,
  startEmbeddedMonitor,
  type EmbeddedMonitor,
} from './embedded-monitor.ts';
import { seedCodeSchedule } from './schedule-seed.ts';
import { SmtpCatcher } from './smtp-catcher.ts';
import { createSite } from './web/site.ts';

export interface EmbeddedSite {
  /** The site's base URL, e.g. http://127.0.0.1:8000 */
  readonly url: string;
  readonly config: SiteConfig;
  /** The local SMTP catcher (absent when `SMTP_URL` is set). */
  readonly catcher: SmtpCatcher | undefined;
  readonly beat: Beat;
  /** The monitor, served at `monitorUrl`. */
  readonly monitor: EmbeddedMonitor;
  /** The monitor's address, e.g. http://127.0.0.1:8000/monitor */
  readonly monitorUrl: string;
  /** The app the site and beat send with. */
  readonly producer: FeedbackTasks;
  /** Whether the worker is running. */
  readonly workerRunning: boolean;
  /** Stops the worker (warm: running tasks finish, the rest waits in the broker). */
  stopWorker(): Promise<void>;
  startWorker(): Promise<void>;
  /** Stops everything; idempotent. */
  stop(): Promise<void>;
}

/**
 * Embedded mode: site, worker, beat, monitor and an SMTP catcher in one process, on the in-memory
 * broker and a SQLite result file. The worker, beat and the monitor get their own app objects (as
 * separate processes would), so stopping the worker leaves the site's connections alone.
 */
export async function startEmbedded(config: SiteConfig, logger: Logger): Promise<EmbeddedSite> {
  // Checked before anything starts: a monitor without log-in on a public address is refused.
  const monitorAuthOptions = await monitorAuth(config, logger.child({ component: 'monitor' }));
  // What has started, stopped in reverse order by stop(), or at once when a later step fails.
  const stops: Array<() => Promise<void> | void> = [];
  const stopAll = async () => {
    for (const stop of stops.splice(0).reverse()) {
      await Promise.resolve()
        .then(stop)
        .catch((error: unknown) => logger.error({ err: error }, 'feedback-site: error while stopping'));
    }
  };
  try {
    const catcher = config.smtpUrl ? undefined : new SmtpCatcher(config.smtpCatcherPort);
    await catcher?.start();
    stops.push(() => catcher?.stop());
    const cfg: SiteConfig = Object.freeze({
      ...config,
      smtpCatcherPort: catcher?.listeningPort ?? config.smtpCatcherPort,
      // The site links to the monitor it serves itself.
      monitorUrl: MONITOR_PATH,
    });

    const producer = createTasks(cfg);
    const consumer = createTasks(cfg);
    const watcher = createTasks(cfg);
    watcher.mailer.close(); // the monitor's copy of the tasks never sends mail
    producer.app.configure({ logger: logger.child({ component: 'site' }) });
    consumer.app.configure({ logger: logger.child({ component: 'worker' }) });
    watcher.app.configure({ logger: logger.child({ component: 'monitor' }) });
    for (const tasks of [producer, consumer, watcher]) {
      stops.push(async () => {
        tasks.mailer.close();
        await tasks.app.close();
      });
    }

    let worker: Worker | undefined;
    const startWorker = async () => {
      if (worker) return;
      // Events, heartbeats and remote control on, as `celeriac worker` has them: the monitor shows
      // the worker online, follows its tasks and can inspect and steer it.
      const next = new Worker(consumer.app, {
        concurrency: 4,
        hostname: 'celery@feedback-site',
        sendEvents: true,
        heartbeat: true,
        remoteControl: true,
      });
      await next.start();
      worker = next;
    };
    const stopWorker = async () => {
      const current = worker;
      worker = undefined;
      await current?.stop();
    };
    await startWorker();
    stops.push(stopWorker);

    const beat = await startBeat(producer.app, cfg, logger.child({ component: 'beat' }));
    stops.push(() => beat.stop());
    // A store of its own on the same tables (as `celeriac monitor` in another process would have).
    const schedules =
      beat.store instanceof SqlScheduleStore
        ? new SqlScheduleStore({ url: sqlUrl(cfg.resultBackend), timezone: watcher.app.conf.timezone })
        : undefined;
    stops.push(() => schedules?.close());
    const monitor = await startEmbeddedMonitor({
      app: watcher.app,
      config: cfg,
      auth: monitorAuthOptions,
      logger: logger.child({ component: 'monitor' }),
      schedules,
    });
    stops.push(() => monitor.stop());

    const site = createSite({ config: cfg, tasks: producer, mode: 'embedded', catcher, beat });
    const fetch = (request: Request, env?: unknown) =>
      isMonitorPath(new URL(request.url).pathname) ? monitor.fetch(request, env) : site.fetch(request, env);
    const server = await new Promise<ServerType>((resolve, reject) => {
      const s = serve({ fetch, port: cfg.port, hostname: cfg.host }, () => resolve(s));
      s.once('error', reject);
    });
    stops.push(
      () =>
        new Promise<void>((resolve) => {
          server.close(() => resolve());
          // Live pages (the monitor's event stream) never close their connections on their own.
          (server as { closeAllConnections?: () => void }).closeAllConnections?.();
        }),
    );
    const { port } = server.address() as AddressInfo;
    const url = `http://${cfg.host.includes(':') ? `[${cfg.host}]` : cfg.host}:${port}`;

    let stopping: Promise<void> | undefined;
    return {
      url,
      config: cfg,
      catcher,
      beat,
      monitor,
      monitorUrl: url + MONITOR_PATH,
      producer,
      get workerRunning() {
        return worker !== undefined;
      },
      stopWorker,
      startWorker,
      stop: () => (stopping ??= stopAll()),
    };
  } catch (error) {
    await stopAll();
    throw error;
  }
}

const SQL_URL = /^(sqlite|postgres|postgresql|mysql|mariadb):/i;

/** The result backend's URL without its options (`?celeriac_tables=…`), for beat's own tables. */
const sqlUrl = (backend: string) => backend.split('?')[0]!;

/**
 * Beat with its schedule in the result database (beat's `celeriac_beat_*` tables, django-celery-beat's
 * DatabaseScheduler), which the monitor's Periodic tasks page edits. The code's `beatSchedule` is
 * written into it at start when new or changed in the code, never over edits made in the monitor
 * (`seedCodeSchedule`); run state survives restarts. A non-SQL backend falls back to the file scheduler.
 */
async function startBeat(app: Celeriac, config: SiteConfig, logger: Logger): Promise<Beat> {
  const sql = SQL_URL.test(config.resultBackend);
  const beat = sql
    ? await createBeat(app, { scheduler: 'db', dbUrl: sqlUrl(config.resultBackend), logger })
    : await createBeat(app, { scheduler: 'file', scheduleFile: config.beatScheduleFile, logger });
  if (beat.store instanceof SqlScheduleStore) {
    const outcomes = await seedCodeSchedule(beat.store, app.conf.beatSchedule);
    for (const [name, outcome] of outcomes)
      if (outcome !== 'kept')
        logger.info(`beat: ${outcome} the code's entry ${name} in ${beat.store.description}`);
  }
  await beat.start();
  return beat;
}
