import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { pino, type Logger } from 'pino';

const run = promisify(execFile);

/** Runs `rabbitmqctl` on this machine's broker (the tests that use it control the broker they share). */
export async function rabbitmqctl(...args: string[]): Promise<string> {
  const { stdout } = await run('rabbitmqctl', args, { timeout: 20_000 });
  return stdout;
}

/** Closes every connection whose `connection_name` client property is `connectionName` (and only those). */
export async function closeConnectionsNamed(
  connectionName: string,
  reason = 'test: simulated broker-side close',
): Promise<number> {
  if (!/^[\w .:@-]+$/.test(connectionName))
    throw new Error(`connection name ${JSON.stringify(connectionName)} is not safe to quote`);
  // One eval instead of list_connections + close_connection: each rabbitmqctl call costs seconds on a busy box.
  const expr =
    `Ps = [P || P <- rabbit_networking:connections(), lists:member({<<"connection_name">>, longstr, <<"${connectionName}">>}, ` +
    `proplists:get_value(client_properties, rabbit_networking:connection_info(P, [client_properties]), []))], ` +
    `[rabbit_networking:close_connection(P, "${reason.replace(/"/g, '')}") || P <- Ps], length(Ps).`;
  return Number((await rabbitmqctl('eval', expr)).trim());
}

export interface LogLine {
  level: number;
  msg: string;
  [key: string]: unknown;
}

/** A real pino logger whose lines a test can read. */
export function captureLogger(): { logger: Logger; lines: LogLine[] } {
  const lines: LogLine[] = [];
  const logger = pino(
    { level: 'debug' },
    { write: (line: string) => void lines.push(JSON.parse(line) as LogLine) },
  );
  return { logger, lines };
}

export const WARN = 40;
