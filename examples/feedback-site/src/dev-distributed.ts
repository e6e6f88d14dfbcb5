import { spawn, type ChildProcess } from 'node:child_process';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { ensureParentDir, loadConfig, SITE_DIR } from './config.ts';

/**
 * `npm run dev:distributed`: the worker, beat, the monitor and the site as four processes (as in
 * production), their output prefixed, stopped together. Defaults point at a local RabbitMQ and
 * PostgreSQL; override with CELERIAC_BROKER_URL, CELERIAC_RESULT_BACKEND, SMTP_URL, MONITOR_URL.
 * First it writes the code's periodic tasks into beat's tables in that database (`seed-schedule`),
 * which beat reads and the monitor's Periodic tasks page edits.
 */
const env: NodeJS.ProcessEnv = {
  ...process.env,
  CELERIAC_BROKER_URL: process.env.CELERIAC_BROKER_URL || 'amqp://guest:guest@127.0.0.1:5672//',
  CELERIAC_RESULT_BACKEND: process.env.CELERIAC_RESULT_BACKEND || 'postgresql://postgres@127.0.0.1:5432/test',
};
let config;
try {
  config = loadConfig(env);
} catch (error) {
  console.error((error as Error).message);
  process.exit(2);
}
const require = createRequire(import.meta.url);
// The package exports only its entry (src/index.ts); the bin sits beside src/.
const celeriacBin = join(
  dirname(require.resolve('celeriac', { paths: [SITE_DIR] })),
  '..',
  'bin',
  'celeriac.js',
);
const tsxCli = require.resolve('tsx/cli', { paths: [SITE_DIR] });
const tasksModule = join(SITE_DIR, 'src', 'tasks.ts');

// The monitor answers where the site's links point (MONITOR_URL); it asks for a log-in when
// MONITOR_USER / MONITOR_PASSWORD are set, and runs without one otherwise (it allows that on loopback only).
const monitorAt = new URL(config.monitorUrl);
const monitorHost = monitorAt.hostname.replace(/^\[(.*)\]$/, '$1');
const monitorPort = monitorAt.port || (monitorAt.protocol === 'https:' ? '443' : '80');
if (config.monitorUser !== undefined && config.monitorPassword !== undefined) {
  env.CELERIAC_MONITOR_USER = config.monitorUser;
  env.CELERIAC_MONITOR_PASSWORD = config.monitorPassword;
}
const monitorAuth = env.CELERIAC_MONITOR_USER ? [] : ['--insecure-no-auth'];
ensureParentDir(config.monitorDb);

const seedArgs = [tsxCli, join(SITE_DIR, 'src', 'seed-schedule-main.ts')];
const workerArgs = [celeriacBin, '-A', tasksModule, '-l', 'info', 'worker', '-c', '4', '-n', 'feedback@%h'];
const siteArgs = [tsxCli, join(SITE_DIR, 'src', 'site-main.ts')];
// `-S db`: the schedule in beat's SQL tables (the result database), as django-celery-beat's DatabaseScheduler.
const beatArgs = [celeriacBin, '-A', tasksModule, '-l', 'info', 'beat', '-S', 'db'];
const monitorArgs = [
  celeriacBin,
  '-A',
  tasksModule,
  '-l',
  'info',
  'monitor',
  '--address',
  monitorHost,
  '--port',
  monitorPort,
  '--db',
  config.monitorDb,
  '-S',
  'db',
  ...monitorAuth,
];

const children: ChildProcess[] = [];
let stopping = false;
/** `forward`: signal the children; not for Ctrl-C, which the terminal already sent to the whole group. */
const stopAll = (code: number, forward = true) => {
  if (stopping) return;
  stopping = true;
  // SIGTERM is a warm shutdown for the worker (running tasks finish); a second signal would make it cold.
  if (forward) for (const child of children) if (child.exitCode === null) child.kill('SIGTERM');
  const timer = setTimeout(() => process.exit(code), 15_000);
  timer.unref();
  Promise.all(children.map((c) => (c.exitCode === null ? new Promise((r) => c.once('exit', r)) : null))).then(
    () => process.exit(code),
  );
};

/** Runs one process with its output prefixed; `onExit` decides what its end means (default: stop all). */
function start(name: string, args: string[], onExit?: (code: number | null) => void): void {
  if (stopping) return;
  const child = spawn(process.execPath, args, { env, cwd: SITE_DIR, stdio: ['ignore', 'pipe', 'pipe'] });
  children.push(child);
  const prefix = `${name.padEnd(7)}| `;
  for (const stream of [child.stdout!, child.stderr!]) {
    let buffered = '';
    stream.setEncoding('utf8');
    stream.on('data', (chunk: string) => {
      buffered += chunk;
      const lines = buffered.split('\n');
      buffered = lines.pop()!;
      for (const line of lines) process.stdout.write(prefix + line + '\n');
    });
  }
  child.once('exit', (code, signal) => {
    process.stdout.write(`${prefix}exited (${signal ?? code})\n`);
    if (onExit) onExit(code);
    // One piece gone means the set is broken: stop the rest rather than run half a system.
    else if (!stopping) stopAll(code || 1);
  });
}

start('worker', workerArgs);
start('site', siteArgs);
// Beat's tables and the code's entries first: beat and the monitor read them from their start.
start('seed', seedArgs, (code) => {
  if (code !== 0) {
    if (!stopping)
      console.error('dev:distributed: could not write the periodic tasks to the database; stopping');
    stopAll(code || 1);
    return;
  }
  start('beat', beatArgs);
  start('monitor', monitorArgs);
});

process.once('SIGINT', () => stopAll(0, false));
process.once('SIGTERM', () => stopAll(0));
