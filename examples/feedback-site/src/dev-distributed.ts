import { spawn, type ChildProcess } from 'node:child_process';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { SITE_DIR } from './config.ts';

/**
 * `npm run dev:distributed`: the worker, beat and the site as three processes (as in production),
 * their output prefixed, stopped together. Defaults point at a local RabbitMQ and PostgreSQL;
 * override with CELERIAC_BROKER_URL, CELERIAC_RESULT_BACKEND, SMTP_URL.
 */
const env: NodeJS.ProcessEnv = {
  ...process.env,
  CELERIAC_BROKER_URL: process.env.CELERIAC_BROKER_URL ?? 'amqp://guest:guest@127.0.0.1:5672//',
  CELERIAC_RESULT_BACKEND: process.env.CELERIAC_RESULT_BACKEND ?? 'postgresql://postgres@127.0.0.1:5432/test',
};
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

const processes: Array<[name: string, args: string[]]> = [
  ['worker', [celeriacBin, '-A', tasksModule, '-l', 'info', 'worker', '-c', '4', '-n', 'feedback@%h']],
  ['beat', [celeriacBin, '-A', tasksModule, '-l', 'info', 'beat']],
  ['site', [tsxCli, join(SITE_DIR, 'src', 'site-main.ts')]],
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

for (const [name, args] of processes) {
  const child = spawn(process.execPath, args, { env, cwd: SITE_DIR, stdio: ['ignore', 'pipe', 'pipe'] });
  children.push(child);
  const prefix = `${name.padEnd(6)}| `;
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
    // One piece gone means the set is broken: stop the rest rather than run half a system.
    if (!stopping) stopAll(code || 1);
  });
}

process.once('SIGINT', () => stopAll(0, false));
process.once('SIGTERM', () => stopAll(0));
