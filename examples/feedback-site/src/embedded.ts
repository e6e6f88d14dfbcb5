import type { AddressInfo } from 'node:net';
import { serve, type ServerType } from '@hono/node-server';
import { createBeat, SqlScheduleStore, Worker, type Beat, type Celeriac } from 'celeriac';
import type { Logger } from 'pino';
import type { SiteConfig } from './config.ts';
import { createTasks, type FeedbackTasks } from './create-tasks.ts';
import { SmtpCatcher } from './smtp-catcher.ts';
import { createSite } from './web/site.ts';

export interface EmbeddedSite {
  /** The site's base URL, e.g. http://127.0.0.1:8000 */
  readonly url: string;
  readonly config: SiteConfig;
  /** The local SMTP catcher (absent when `SMTP_URL` is set). */
  readonly catcher: SmtpCatcher | undefined;
  readonly beat: Beat;
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
 * Embedded mode: site, worker, beat and an SMTP catcher in one process, on the in-memory broker
 * and a SQLite result file. The worker and beat get their own app objects (as separate processes
 * would), so stopping the worker leaves the site's connections alone.
 */
export async function startEmbedded(config: SiteConfig, logger: Logger): Promise<EmbeddedSite> {
  const catcher = config.smtpUrl ? undefined : new SmtpCatcher(config.smtpCatcherPort);
  await catcher?.start();
  const cfg: SiteConfig = Object.freeze({
    ...config,
    smtpCatcherPort: catcher?.listeningPort ?? config.smtpCatcherPort,
  });

  const producer = createTasks(cfg);
  const consumer = createTasks(cfg);
  producer.app.configure({ logger: logger.child({ component: 'site' }) });
  consumer.app.configure({ logger: logger.child({ component: 'worker' }) });

  let worker: Worker | undefined;
  const startWorker = async () => {
    if (worker) return;
    const next = new Worker(consumer.app, { concurrency: 4, hostname: 'celery@feedback-site' });
    await next.start();
    worker = next;
  };
  const stopWorker = async () => {
    const current = worker;
    worker = undefined;
    await current?.stop();
  };
  await startWorker();

  const beat = await startBeat(producer.app, cfg, logger.child({ component: 'beat' }));

  const site = createSite({ config: cfg, tasks: producer, mode: 'embedded', catcher, beat });
  const server = await new Promise<ServerType>((resolve, reject) => {
    const s = serve({ fetch: site.fetch, port: cfg.port, hostname: cfg.host }, () => resolve(s));
    s.once('error', reject);
  });
  const { port } = server.address() as AddressInfo;

  let stopping: Promise<void> | undefined;
  return {
    url: `http://${cfg.host}:${port}`,
    config: cfg,
    catcher,
    beat,
    producer,
    get workerRunning() {
      return worker !== undefined;
    },
    stopWorker,
    startWorker,
    stop() {
      stopping ??= (async () => {
        await new Promise<void>((resolve) => {
          server.close(() => resolve());
          (server as { closeAllConnections?: () => void }).closeAllConnections?.();
        });
        await beat.stop();
        await stopWorker();
        await producer.app.close();
        await consumer.app.close();
        producer.mailer.close();
        consumer.mailer.close();
        await catcher?.stop();
      })();
      return stopping;
    },
  };
}

const SQL_URL = /^(sqlite|postgres|postgresql|mysql|mariadb):/i;

/**
 * Beat with its schedule in the result database (beat's `celeriac_beat_*` tables, django-celery-beat's
 * DatabaseScheduler), the code's `beatSchedule` written into it at start as django-celery-beat does
 * with CELERY_BEAT_SCHEDULE; run state survives restarts. A non-SQL backend falls back to the file scheduler.
 */
async function startBeat(app: Celeriac, config: SiteConfig, logger: Logger): Promise<Beat> {
  const sql = SQL_URL.test(config.resultBackend);
  const beat = sql
    ? await createBeat(app, { scheduler: 'db', dbUrl: config.resultBackend.split('?')[0], logger })
    : await createBeat(app, { scheduler: 'file', scheduleFile: config.beatScheduleFile, logger });
  if (beat.store instanceof SqlScheduleStore) {
    for (const [name, definition] of Object.entries(app.conf.beatSchedule))
      await beat.store.upsert(name, definition);
  }
  await beat.start();
  return beat;
}
