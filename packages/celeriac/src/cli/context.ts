import type { LevelWithSilent } from 'pino';
import { Celeriac } from '../app/celeriac.ts';
import type { CeleriacOptions } from '../app/config.ts';
import { createLogger, silentLogger, type Logger } from '../util/logger.ts';
import { UsageError } from './errors.ts';
import { loadApp } from './load-app.ts';

/** Connection attempts of one-shot commands (call, inspect, ...) before they report the broker unreachable. */
const ONE_SHOT_CONNECT_RETRIES = 2;

/** The options every command takes, as Celery's `celery -A proj -b url ...`. */
export interface GlobalOptions {
  app?: string;
  broker?: string;
  resultBackend?: string;
  loglevel?: string;
  debug?: boolean;
}

/** Celery's level names (any case) and pino's, to pino's. */
const LEVELS: Record<string, LevelWithSilent> = {
  critical: 'fatal',
  fatal: 'fatal',
  error: 'error',
  warning: 'warn',
  warn: 'warn',
  info: 'info',
  debug: 'debug',
  trace: 'trace',
  silent: 'silent',
};

export function parseLogLevel(text: string | undefined, fallback: LevelWithSilent): LevelWithSilent {
  if (text === undefined) return fallback;
  const level = LEVELS[text.toLowerCase()];
  if (!level)
    throw new UsageError(
      `-l/--loglevel must be one of DEBUG, INFO, WARNING, ERROR, CRITICAL, got ${JSON.stringify(text)}`,
    );
  return level;
}

/** What a command runs with: the app (loaded once, flags applied) and a logger. */
export class CliContext {
  readonly logger: Logger;
  readonly debug: boolean;
  private appPromise: Promise<Celeriac> | undefined;

  constructor(
    readonly options: GlobalOptions,
    /** Level when `-l` is absent: the worker logs `info`, one-shot commands only `warn`. */
    defaultLevel: LevelWithSilent = 'warn',
  ) {
    const level = parseLogLevel(options.loglevel, defaultLevel);
    this.debug = options.debug === true || level === 'debug' || level === 'trace';
    this.logger = createLogger({ level, name: 'celeriac' });
  }

  /**
   * The app from `-A`, or one built from `--broker`/`--result-backend`/env for commands that only
   * talk to the broker. Flags win over the module's own config and over the env.
   */
  app(options: { required?: boolean; oneShot?: boolean } = {}): Promise<Celeriac> {
    this.appPromise ??= (async () => {
      const overrides: Partial<CeleriacOptions> = {
        broker: this.options.broker,
        backend: this.options.resultBackend,
      };
      if (!this.options.app) {
        if (options.required)
          throw new UsageError(
            'this command needs the app: pass -A <module> (a .ts or .js file exporting it)',
          );
        return new Celeriac({
          ...overrides,
          brokerConnectionMaxRetries: ONE_SHOT_CONNECT_RETRIES,
          logger: this.logger,
        });
      }
      const app = await loadApp(this.options.app);
      // A one-shot command must fail on an unreachable broker, not retry forever as a worker does.
      if (options.oneShot !== false && app.conf.brokerConnectionMaxRetries === null) {
        overrides.brokerConnectionMaxRetries = ONE_SHOT_CONNECT_RETRIES;
      }
      if (Object.values(overrides).some((v) => v !== undefined)) app.configure(overrides);
      if (app.logger === silentLogger) app.logger = this.logger;
      return app;
    })();
    return this.appPromise;
  }

  /** Closes the app's connections if one was opened. */
  async close(): Promise<void> {
    const app = await this.appPromise?.catch(() => undefined);
    await app?.close();
  }
}
