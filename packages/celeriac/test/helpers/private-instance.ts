/**
 * What every private service instance (RabbitMQ node, redis-server, PostgreSQL cluster) a test starts
 * has in common: a directory of its own, free ports, and cleanup that happens even when the test does
 * not get to do it.
 *
 * Each instance lives under `/tmp/celeriac-private/<owner pid>-<kind>-<random>/`, so two test files
 * (or two runs) never collide. It is stopped by its `stop()` (call it in afterAll), by a process
 * `exit` hook if the test forgets or fails, and, if the whole process was SIGKILLed, by the next
 * instance any run starts: `reapStale()` stops whatever a dead owner left behind.
 */
import { execFile } from 'node:child_process';
import { chownSync, existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { join } from 'node:path';
import { promisify } from 'node:util';

export const run = promisify(execFile);
export const PRIVATE_ROOT = '/tmp/celeriac-private';
const isRoot = process.getuid?.() === 0;

/** Every instance this process started, for the exit hook (which may only do synchronous work). */
const live = new Set<() => void>();
let hooked = false;

/**
 * Registers an instance's synchronous kill (SIGKILL what it started, remove its directory) with the
 * process exit hook; call the returned function once the instance is stopped.
 */
export function trackInstance(killNow: () => void): () => void {
  if (!hooked) {
    hooked = true;
    process.once('exit', () => {
      for (const kill of live) kill();
    });
  }
  live.add(killNow);
  return () => live.delete(killNow);
}

/** A port nobody listens on right now (another process may still take it before we bind it). */
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

export function killPidFile(file: string, signal: NodeJS.Signals): void {
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
export function instanceDir(kind: string, user?: string): string {
  mkdirSync(PRIVATE_ROOT, { recursive: true, mode: 0o755 });
  const dir = join(PRIVATE_ROOT, `${process.pid}-${kind}-${Math.random().toString(36).slice(2, 8)}`);
  mkdirSync(dir, { mode: 0o755 });
  writeFileSync(join(dir, 'owner'), String(process.pid));
  if (user) chownTo(dir, user);
  return dir;
}

/** chown one path to a service user when we are root (no-op otherwise, or if the user does not exist). */
export function chownTo(path: string, user: string): void {
  const ids = isRoot ? USER_IDS[user] : undefined;
  if (ids) chownSync(path, ids.uid, ids.gid);
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
export function asUser(user: string, cmd: string, args: string[]): [string, string[]] {
  return isRoot ? ['runuser', ['-u', user, '--', cmd, ...args]] : [cmd, args];
}

/**
 * Polls `check` every 200 ms until it resolves true; a check that throws counts as false. `signal`
 * ends the polling early (the awaited promise then rejects), e.g. once the server being waited for has exited.
 */
export async function waitUntil(
  what: string,
  check: () => Promise<boolean>,
  timeoutMs: number,
  signal?: AbortSignal,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    signal?.throwIfAborted();
    if (await check().catch(() => false)) return;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}

export function portOpen(port: number): Promise<boolean> {
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

/** Stops and removes whatever a run that died without cleaning up (SIGKILL, OOM) left under the root. */
export function reapStale(): void {
  if (!existsSync(PRIVATE_ROOT)) return;
  for (const name of readdirSync(PRIVATE_ROOT)) {
    const dir = join(PRIVATE_ROOT, name);
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
