/**
 * Private RabbitMQ, Redis and PostgreSQL instances for the chaos scenarios: they are stopped and
 * restarted on purpose, which must never happen to the shared services other tests run on.
 *
 * Each instance lives under `/tmp/celeriac-chaos/<owner pid>-<random>/` on free ports with a unique
 * RabbitMQ node name, so two runs never collide. It is stopped by `stop()` (call it in afterAll), by
 * a process `exit` hook if the test forgets or fails, and, if the whole process was SIGKILLed, by the
 * next run: `reapStale()` stops whatever a dead owner left behind.
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { chownSync, existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { join } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);
const ROOT = '/tmp/celeriac-chaos';
const isRoot = process.getuid?.() === 0;

/** Every instance this process started, for the exit hook (which may only do synchronous work). */
const live = new Set<{ killNow(): void }>();
let hooked = false;

function hookExit(): void {
  if (hooked) return;
  hooked = true;
  process.once('exit', () => {
    for (const instance of live) instance.killNow();
  });
}

/** A port nobody listens on right now. */
export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    // Someone may probe the port in the instant it is open; never wait on such a connection.
    server.on('connection', (socket) => socket.destroy());
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      // close() stops listening at once; its callback would wait for connections, so do not wait for it.
      server.close();
      if (typeof address === 'object' && address) resolve(address.port);
      else reject(new Error('could not read the port of a listening socket'));
    });
  });
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

function killPidFile(file: string, signal: NodeJS.Signals): void {
  if (!existsSync(file)) return;
  const pid = Number(readFileSync(file, 'utf8').split('\n')[0]?.trim());
  if (Number.isInteger(pid) && pid > 0 && alive(pid)) {
    try {
      process.kill(pid, signal);
    } catch {
      // already gone
    }
  }
}

/** A fresh directory for one instance, owned by `user` when we are root (servers refuse to run as root). */
function instanceDir(kind: string, user?: string): string {
  mkdirSync(ROOT, { recursive: true, mode: 0o755 });
  const dir = join(ROOT, `${process.pid}-${kind}-${Math.random().toString(36).slice(2, 8)}`);
  mkdirSync(dir, { mode: 0o755 });
  writeFileSync(join(dir, 'owner'), String(process.pid));
  if (user && isRoot) chownTree(dir, user);
  return dir;
}

function chownTree(path: string, user: string): void {
  const ids = USER_IDS[user];
  if (!ids) return;
  chownSync(path, ids.uid, ids.gid);
}

/** uid/gid of the service users, read once from /etc/passwd (no extra dependency for it). */
const USER_IDS: Record<string, { uid: number; gid: number }> = (() => {
  const out: Record<string, { uid: number; gid: number }> = {};
  try {
    for (const line of readFileSync('/etc/passwd', 'utf8').split('\n')) {
      const [name, , uid, gid] = line.split(':');
      if (name && uid && gid) out[name] = { uid: Number(uid), gid: Number(gid) };
    }
  } catch {
    // not on Linux: run the servers as ourselves
  }
  return out;
})();

/** `cmd args` as `user` when we are root (runuser keeps our environment), else as ourselves. */
function asUser(user: string, cmd: string, args: string[]): [string, string[]] {
  return isRoot ? ['runuser', ['-u', user, '--', cmd, ...args]] : [cmd, args];
}

async function waitUntil(what: string, check: () => Promise<boolean>, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await check().catch(() => false)) return;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}

function portOpen(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect({ host: '127.0.0.1', port });
    const done = (ok: boolean) => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(1000, () => done(false));
    socket.once('connect', () => done(true));
    socket.once('error', () => done(false));
  });
}

// ---------------------------------------------------------------- RabbitMQ

export interface PrivateRabbitMQ {
  readonly url: string;
  readonly port: number;
  readonly nodename: string;
  /** `rabbitmqctl stop_app`: the node stays up, the broker closes every connection and refuses new ones. */
  stopApp(): Promise<void>;
  startApp(): Promise<void>;
  rabbitmqctl(...args: string[]): Promise<string>;
  stop(): Promise<void>;
}

/** Starts a private RabbitMQ node (no plugins); its cookie is the main node's, so rabbitmqctl reaches it. */
export async function startPrivateRabbitMQ(): Promise<PrivateRabbitMQ> {
  reapStale();
  hookExit();
  const dir = instanceDir('rabbitmq', 'rabbitmq');
  const port = await freePort();
  const distPort = await freePort();
  const nodename = `celeriac-chaos-${process.pid}-${Math.random().toString(36).slice(2, 6)}@localhost`;
  writeFileSync(join(dir, 'enabled_plugins'), '[].\n');
  // Our own config file: the machine's sets listeners.tcp.local to the shared port.
  writeFileSync(join(dir, 'rabbitmq.conf'), `listeners.tcp.local = 127.0.0.1:${port}\n`);
  writeFileSync(join(dir, 'nodename'), nodename);
  for (const f of ['enabled_plugins', 'rabbitmq.conf', 'nodename']) chownTree(join(dir, f), 'rabbitmq');
  const env = {
    ...process.env,
    RABBITMQ_NODENAME: nodename,
    RABBITMQ_NODE_PORT: String(port),
    RABBITMQ_DIST_PORT: String(distPort),
    RABBITMQ_MNESIA_BASE: join(dir, 'mnesia'),
    RABBITMQ_LOG_BASE: join(dir, 'log'),
    RABBITMQ_PID_FILE: join(dir, 'pid'),
    RABBITMQ_ENABLED_PLUGINS_FILE: join(dir, 'enabled_plugins'),
    RABBITMQ_CONFIG_FILE: join(dir, 'rabbitmq.conf'),
  };
  const ctl = async (...args: string[]): Promise<string> => {
    const { stdout } = await run('rabbitmqctl', ['-n', nodename, ...args], { timeout: 60_000, cwd: '/tmp' });
    return stdout;
  };
  const instance = {
    killNow: () => {
      killPidFile(join(dir, 'pid'), 'SIGKILL');
      rmSync(dir, { recursive: true, force: true });
    },
  };
  live.add(instance);
  await run('rabbitmq-server', ['-detached'], { env, cwd: '/tmp', timeout: 60_000 });
  // -detached returns before the node registers with epmd; await_startup fails fast until it has.
  await waitUntil(
    `RabbitMQ node ${nodename}`,
    () => ctl('await_startup', '--timeout', '60').then(() => true),
    90_000,
  );
  await waitUntil(`RabbitMQ on port ${port}`, () => portOpen(port), 30_000);
  return {
    url: `amqp://guest:guest@127.0.0.1:${port}//`,
    port,
    nodename,
    rabbitmqctl: ctl,
    stopApp: async () => {
      await ctl('stop_app');
    },
    startApp: async () => {
      await ctl('start_app');
      await waitUntil(`RabbitMQ on port ${port}`, () => portOpen(port), 30_000);
    },
    stop: async () => {
      await ctl('stop').catch(() => undefined);
      instance.killNow();
      live.delete(instance);
    },
  };
}

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
  hookExit();
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
  const instance = {
    killNow: () => {
      child?.kill('SIGKILL');
      killPidFile(pidfile, 'SIGKILL');
      rmSync(dir, { recursive: true, force: true });
    },
  };
  live.add(instance);
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
      instance.killNow();
      live.delete(instance);
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
  hookExit();
  const bin = postgresBin();
  const dir = instanceDir('postgres', 'postgres');
  const data = join(dir, 'data');
  const port = await freePort();
  const pg = async (cmd: string, args: string[], timeout = 60_000) => {
    const [file, argv] = asUser('postgres', join(bin, cmd), args);
    await run(file, argv, { timeout, cwd: '/tmp' });
  };
  const instance = {
    killNow: () => {
      // SIGQUIT is PostgreSQL's immediate shutdown; the dir goes with it.
      killPidFile(join(data, 'postmaster.pid'), 'SIGQUIT');
      rmSync(dir, { recursive: true, force: true });
    },
  };
  live.add(instance);
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
      instance.killNow();
      live.delete(instance);
    },
  };
}

// ---------------------------------------------------------------- stale instances

/** Stops and removes whatever a run that died without cleaning up (SIGKILL, OOM) left under ROOT. */
export function reapStale(): void {
  if (!existsSync(ROOT)) return;
  for (const name of readdirSync(ROOT)) {
    const dir = join(ROOT, name);
    let owner: number;
    try {
      owner = Number(readFileSync(join(dir, 'owner'), 'utf8'));
    } catch {
      // a directory being created right now by another run has no owner file yet
      continue;
    }
    if (!Number.isInteger(owner) || alive(owner)) continue;
    killPidFile(join(dir, 'pid'), 'SIGKILL'); // RabbitMQ
    killPidFile(join(dir, 'redis.pid'), 'SIGKILL');
    killPidFile(join(dir, 'data', 'postmaster.pid'), 'SIGQUIT');
    rmSync(dir, { recursive: true, force: true });
  }
}
