import { mkdirSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { z } from 'zod';

/** The site's folder; embedded mode keeps its SQLite file and beat state in `.data/` under it. */
export const SITE_DIR = resolve(dirname(fileURLToPath(import.meta.url)), '..');

/**
 * Everything the site, the worker and beat read from the environment, resolved once (the seed's
 * `settings.py`). Embedded mode needs none of it; distributed mode sets the broker, the backend and SMTP.
 */
export interface SiteConfig {
  /** `CELERIAC_BROKER_URL`. (Default: `memory://`, the in-process broker) */
  readonly brokerUrl: string;
  /** `CELERIAC_RESULT_BACKEND`. (Default: `sqlite:///<site>/.data/results.db`) */
  readonly resultBackend: string;
  /** `CELERIAC_DEFAULT_QUEUE`: the queue tasks go to and the worker reads. (Default: `celery`) */
  readonly taskQueue: string;
  /** `SMTP_URL`, e.g. `smtp://user:pass@mail.example.com:587`. Unset: the local SMTP catcher. */
  readonly smtpUrl: string | undefined;
  /** `SMTP_CATCHER_PORT`: where the local catcher listens when `SMTP_URL` is unset. (Default: 2525) */
  readonly smtpCatcherPort: number;
  /** `HOST` / `PORT` of the web site. (Default: 127.0.0.1:8000, Django's runserver) */
  readonly host: string;
  readonly port: number;
  /** `FEEDBACK_FROM`: the sender of feedback emails (Django's `DEFAULT_FROM_EMAIL`). */
  readonly mailFrom: string;
  /** `BEAT_ADD_EVERY`: the seed's periodic `tasks.add(14, 15)`. (Default: `5s`, as CELERY_BEAT_SCHEDULE) */
  readonly beatAddEvery: string;
  /** `BEAT_SCHEDULE_FILE`: beat's last-run state. (Default: `<site>/.data/beat-schedule.json`) */
  readonly beatScheduleFile: string;
  /** `FEEDBACK_RATE_LIMIT`: submissions per client address per window, as `5/60s`. (Default: `5/60s`) */
  readonly rateLimit: { readonly max: number; readonly windowMs: number };
  /** `SMTP_RETRY_BACKOFF` / `SMTP_RETRY_BACKOFF_MAX`: seconds, base and cap of the retry back-off. (Default: 2, 300) */
  readonly smtpRetryBackoff: number;
  readonly smtpRetryBackoffMax: number;
  /**
   * `MONITOR_URL`: where the site links to `celeriac monitor` in distributed mode (Flower's place);
   * embedded mode serves the monitor itself at `/monitor`. (Default: http://127.0.0.1:5555)
   */
  readonly monitorUrl: string;
  /**
   * `MONITOR_USER` / `MONITOR_PASSWORD`: the monitor's log-in. Both unset: no log-in, allowed only
   * while the site listens on a loopback address (and logged loudly).
   */
  readonly monitorUser: string | undefined;
  readonly monitorPassword: string | undefined;
  /** `MONITOR_DB`: the monitor's task history. (Default: `sqlite:///<site>/.data/monitor.db`) */
  readonly monitorDb: string;
}

const port = z.coerce.number().int().min(0).max(65535);
const envSchema = z.object({
  CELERIAC_BROKER_URL: z.string().min(1).optional(),
  CELERIAC_RESULT_BACKEND: z.string().min(1).optional(),
  CELERIAC_DEFAULT_QUEUE: z.string().min(1).default('celery'),
  SMTP_URL: z
    .string()
    .regex(/^smtps?:\/\//, 'must start with smtp:// or smtps://')
    .optional(),
  SMTP_CATCHER_PORT: port.default(2525),
  HOST: z.string().min(1).default('127.0.0.1'),
  PORT: port.default(8000),
  FEEDBACK_FROM: z.email().default('support@example.com'),
  BEAT_ADD_EVERY: z
    .string()
    .regex(/^\d+(\.\d+)?(ms|s|m|h)?$/, 'a duration such as 5s or 500ms')
    .default('5s'),
  BEAT_SCHEDULE_FILE: z.string().min(1).optional(),
  FEEDBACK_RATE_LIMIT: z
    .string()
    .regex(/^\d+\/\d+(ms|s|m|h)$/, 'a limit such as 5/60s')
    .default('5/60s'),
  SMTP_RETRY_BACKOFF: z.coerce.number().positive().default(2),
  SMTP_RETRY_BACKOFF_MAX: z.coerce.number().positive().default(300),
  MONITOR_URL: z.url().default('http://127.0.0.1:5555'),
  MONITOR_USER: z.string().max(200).optional(),
  MONITOR_PASSWORD: z.string().max(1000).optional(),
  MONITOR_DB: z
    .string()
    .regex(/^sqlite:\/\//, 'the monitor keeps its history in SQLite: sqlite:///path.db')
    .optional(),
});

const UNIT_MS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 };

/** For the entry points: the config, or its message on stderr and exit code 2. */
export function loadConfigOrExit(): SiteConfig {
  try {
    return loadConfig();
  } catch (error) {
    console.error((error as Error).message);
    process.exit(2);
  }
}

/** Reads the environment; throws one message naming every bad variable and what it expects. */
export function loadConfig(
  env: NodeJS.ProcessEnv = process.env,
  overrides: Partial<SiteConfig> = {},
): SiteConfig {
  const parsed = envSchema.safeParse(Object.fromEntries(Object.entries(env).filter(([, v]) => v !== '')));
  if (!parsed.success) {
    const issues = parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ');
    throw new Error(`feedback-site: bad environment: ${issues}`);
  }
  const e = parsed.data;
  if ((e.MONITOR_USER === undefined) !== (e.MONITOR_PASSWORD === undefined)) {
    throw new Error('feedback-site: bad environment: set both MONITOR_USER and MONITOR_PASSWORD, or neither');
  }
  const dataDir = join(SITE_DIR, '.data');
  const [max, window] = e.FEEDBACK_RATE_LIMIT.split('/') as [string, string];
  const [, amount, unit] = /^(\d+)(ms|s|m|h)$/.exec(window)!;
  const config: SiteConfig = {
    brokerUrl: e.CELERIAC_BROKER_URL ?? 'memory://',
    resultBackend: e.CELERIAC_RESULT_BACKEND ?? `sqlite://${join(dataDir, 'results.db')}`,
    taskQueue: e.CELERIAC_DEFAULT_QUEUE,
    smtpUrl: e.SMTP_URL,
    smtpCatcherPort: e.SMTP_CATCHER_PORT,
    host: e.HOST,
    port: e.PORT,
    mailFrom: e.FEEDBACK_FROM,
    beatAddEvery: e.BEAT_ADD_EVERY,
    beatScheduleFile: e.BEAT_SCHEDULE_FILE ?? join(dataDir, 'beat-schedule.json'),
    rateLimit: { max: Number(max), windowMs: Number(amount) * UNIT_MS[unit!]! },
    smtpRetryBackoff: e.SMTP_RETRY_BACKOFF,
    smtpRetryBackoffMax: e.SMTP_RETRY_BACKOFF_MAX,
    monitorUrl: e.MONITOR_URL,
    monitorUser: e.MONITOR_USER,
    monitorPassword: e.MONITOR_PASSWORD,
    monitorDb: e.MONITOR_DB ?? `sqlite://${join(dataDir, 'monitor.db')}`,
    ...overrides,
  };
  return Object.freeze(config);
}

/** Creates the folder of a `sqlite:///…` URL or a state file, so a fresh checkout just runs. */
export function ensureParentDir(pathOrSqliteUrl: string): void {
  const path = pathOrSqliteUrl.replace(/^sqlite:\/\//i, '').split('?')[0]!;
  if (path === '' || path === ':memory:' || /^[a-z]+:\/\//i.test(path)) return;
  mkdirSync(dirname(resolve(path)), { recursive: true });
}
