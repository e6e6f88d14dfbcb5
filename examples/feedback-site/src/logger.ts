import { pino, type Logger } from 'pino';

/** Readable lines in a terminal, JSON otherwise; `LOG_LEVEL=silent` in tests. */
export function createLogger(name: string, level = process.env.LOG_LEVEL ?? 'info'): Logger {
  if (level === 'silent') return pino({ level });
  if (process.stderr.isTTY) {
    return pino({
      name,
      level,
      transport: {
        target: 'pino-pretty',
        options: { destination: 2, colorize: true, translateTime: 'SYS:HH:MM:ss', ignore: 'pid,hostname' },
      },
    });
  }
  return pino({ name, level }, pino.destination(2));
}
