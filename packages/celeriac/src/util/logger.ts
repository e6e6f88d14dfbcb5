import { pino, type Logger, type LevelWithSilent } from 'pino';

export type { Logger };

/**
 * Logs a person can read: pretty, coloured lines in a terminal, JSON lines otherwise (CI, files,
 * log shippers). `CELERIAC_LOG_FORMAT=json|pretty` overrides the guess.
 */
export function createLogger(options: { level?: LevelWithSilent; name?: string } = {}): Logger {
  const format = process.env.CELERIAC_LOG_FORMAT ?? (process.stderr.isTTY ? 'pretty' : 'json');
  const level = options.level ?? (process.env.CELERIAC_LOG_LEVEL as LevelWithSilent | undefined) ?? 'info';
  if (format === 'pretty') {
    return pino({
      name: options.name,
      level,
      transport: {
        target: 'pino-pretty',
        options: { destination: 2, colorize: true, translateTime: 'SYS:HH:MM:ss.l', ignore: 'pid,hostname' },
      },
    });
  }
  return pino({ name: options.name, level }, pino.destination({ dest: 2, sync: false }));
}

/** A logger that drops everything (library default until the app is given one). */
export const silentLogger: Logger = pino({ level: 'silent' });
