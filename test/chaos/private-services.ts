/**
 * Private Redis and PostgreSQL instances for the chaos scenarios, and the private RabbitMQ node
 * (shared with the main suite, in packages/celeriac/test/helpers): they are stopped and restarted on
 * purpose, which must never happen to the shared services other tests run on. Directories, ports
 * and cleanup (stop(), the exit hook, reapStale()) come from the helpers' private-instance.ts.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, readdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import {
  asUser,
  freePort,
  instanceDir,
  killPidFile,
  portOpen,
  reapStale,
  run,
  trackInstance,
  waitUntil,
} from '../../packages/celeriac/test/helpers/private-instance.ts';

export {
  startPrivateRabbitMQ,
  type PrivateRabbitMQ,
} from '../../packages/celeriac/test/helpers/private-rabbitmq.ts';

// ---------------------------------------------------------------- Redis

export interface PrivateRedis {
  readonly url: string;
  readonly port: number;
  /** SHUTDOWN NOSAVE, as a crash: everything in memory is gone. */
  shutdown(): Promise<void>;
  /** Starts it again on the same port (empty: no RDB, no AOF). */
  start(): Promise<void>;
  stop(): Promise<void>;
}

/** Starts a private redis-server that keeps nothing on disk (`--save "" --appendonly no`). */
export async function startPrivateRedis(): Promise<PrivateRedis> {
  reapStale();
  const dir = instanceDir('redis');
  const port = await freePort();
  let child: ChildProcess | undefined;
  const pidfile = join(dir, 'redis.pid');
  const launch = async () => {
    const proc = spawn(
      'redis-server',
      [
        '--port',
        String(port),
        '--bind',
        '127.0.0.1',
        '--save',
        '',
        '--appendonly',
        'no',
        '--dir',
        dir,
        '--pidfile',
        pidfile,
      ],
      { stdio: 'ignore' },
    );
    child = proc;
    await waitUntil(`redis-server on port ${port}`, () => portOpen(port), 20_000);
  };
  const exited = () =>
    new Promise<void>((resolve) => {
      if (!child || child.exitCode !== null || child.signalCode !== null) return resolve();
      child.once('exit', () => resolve());
    });
  const killNow = () => {
    child?.kill('SIGKILL');
    killPidFile(pidfile, 'SIGKILL');
    rmSync(dir, { recursive: true, force: true });
  };
  const untrack = trackInstance(killNow);
  await launch();
  const shutdown = async () => {
    const done = exited();
    await run('redis-cli', ['-p', String(port), 'SHUTDOWN', 'NOSAVE'], { timeout: 10_000 }).catch(
      () => undefined,
    );
    const timer = setTimeout(() => child?.kill('SIGKILL'), 5_000);
    await done;
    clearTimeout(timer);
  };
  return {
    url: `redis://127.0.0.1:${port}`,
    port,
    shutdown,
    start: launch,
    stop: async () => {
      await shutdown();
      killNow();
      untrack();
    },
  };
}

// ---------------------------------------------------------------- PostgreSQL

export interface PrivatePostgres {
  /** `postgresql://postgres@127.0.0.1:<port>/postgres` (trust auth). */
  readonly url: string;
  readonly port: number;
  /** `pg_ctl stop -m fast`: sessions are ended, new connections refused. */
  stopServer(): Promise<void>;
  startServer(): Promise<void>;
  stop(): Promise<void>;
}

function postgresBin(): string {
  const base = '/usr/lib/postgresql';
  const versions = existsSync(base)
    ? readdirSync(base)
        .filter((v) => /^\d+$/.test(v))
        .sort((a, b) => Number(b) - Number(a))
    : [];
  const found = versions.map((v) => join(base, v, 'bin')).find((bin) => existsSync(join(bin, 'pg_ctl')));
  if (!found) throw new Error(`no PostgreSQL binaries under ${base}/*/bin (install postgresql)`);
  return found;
}

/** A private PostgreSQL cluster in a temp dir (initdb as the postgres user when we are root). */
export async function startPrivatePostgres(): Promise<PrivatePostgres> {
  reapStale();
  const bin = postgresBin();
  const dir = instanceDir('postgres', 'postgres');
  const data = join(dir, 'data');
  const port = await freePort();
  const pg = async (cmd: string, args: string[], timeout = 60_000) => {
    const [file, argv] = asUser('postgres', join(bin, cmd), args);
    await run(file, argv, { timeout, cwd: '/tmp' });
  };
  const killNow = () => {
    // SIGQUIT is PostgreSQL's immediate shutdown; the dir goes with it.
    killPidFile(join(data, 'postmaster.pid'), 'SIGQUIT');
    rmSync(dir, { recursive: true, force: true });
  };
  const untrack = trackInstance(killNow);
  await pg('initdb', ['-D', data, '-A', 'trust', '-U', 'postgres', '--no-sync', '-E', 'UTF8']);
  const startServer = () =>
    pg('pg_ctl', [
      'start',
      '-w',
      '-D',
      data,
      '-l',
      join(dir, 'postgres.log'),
      '-o',
      `-p ${port} -k ${dir} -c listen_addresses=127.0.0.1 -c fsync=off`,
    ]);
  await startServer();
  return {
    url: `postgresql://postgres@127.0.0.1:${port}/postgres`,
    port,
    stopServer: () => pg('pg_ctl', ['stop', '-w', '-m', 'fast', '-D', data]),
    startServer,
    stop: async () => {
      await pg('pg_ctl', ['stop', '-w', '-m', 'immediate', '-D', data]).catch(() => undefined);
      killNow();
      untrack();
    },
  };
}
