import { Command, CommanderError, Option } from 'commander';
import { celeriacVersion } from '../control/version.ts';
import { registerBeat } from './commands/beat.ts';
import { registerCall } from './commands/call.ts';
import { registerEvents } from './commands/events.ts';
import { registerControl, registerInspect } from './commands/remote-control.ts';
import { registerMigrate } from './commands/migrate.ts';
import { registerMonitor } from './commands/monitor.ts';
import { registerPurge } from './commands/purge.ts';
import { registerResult } from './commands/result.ts';
import { registerStatus } from './commands/status.ts';
import { registerWorker } from './commands/worker.ts';
import { UsageError } from './errors.ts';
import { outcome } from './commands/shared.ts';

/**
 * `celeriac`: Celery's command line for Celeriac apps. Global options (`-A`, `-b`,
 * `--result-backend`, `-l`, `--debug`) go before or after the command, as with `celery`.
 */
export function buildProgram(): Command {
  const program = new Command('celeriac')
    .description("A distributed task queue for TypeScript that speaks Celery's protocol.")
    .version(celeriacVersion(), '-V, --version')
    .option(
      '-A, --app <module>',
      'module (.ts or .js, relative to cwd) that exports the app; `file.ts:name` picks an export',
    )
    .option(
      '-b, --broker <url>',
      'broker URL (overrides the app and CELERIAC_BROKER_URL), e.g. amqp://guest:guest@localhost//',
    )
    .option(
      '--result-backend <url>',
      'result backend URL (overrides the app and CELERIAC_RESULT_BACKEND), e.g. redis://localhost/0',
    )
    .addOption(new Option('-l, --loglevel <level>', 'DEBUG, INFO, WARNING, ERROR or CRITICAL'))
    .option('--debug', 'show stack traces on errors')
    .showSuggestionAfterError()
    .addHelpText(
      'after',
      `
Examples:
  $ celeriac -A tasks.ts worker -l info
  $ celeriac -b amqp://guest:guest@localhost// inspect ping
  $ celeriac -A tasks.ts call tasks.add --args '[2, 2]' --wait

Environment: CELERIAC_BROKER_URL, CELERIAC_RESULT_BACKEND, CELERIAC_LOG_FORMAT (json|pretty).`,
    );
  registerWorker(program);
  registerBeat(program);
  registerCall(program);
  registerResult(program);
  registerPurge(program);
  registerStatus(program);
  registerInspect(program);
  registerControl(program);
  registerMigrate(program);
  registerEvents(program);
  registerMonitor(program);
  // Exit codes are ours to choose (2 for usage), so commander throws instead of exiting.
  const exitOverride = (cmd: Command) => {
    cmd.exitOverride();
    cmd.commands.forEach(exitOverride);
  };
  exitOverride(program);
  return program;
}

/** Runs the CLI and exits with its status: 0 ok, 1 runtime failure, 2 usage error. */
export async function run(argv: readonly string[]): Promise<void> {
  // `celeriac inspect stats | head`: a closed pipe ends the command quietly, as in any Unix tool.
  process.stdout.on('error', (error: NodeJS.ErrnoException) => {
    if (error.code === 'EPIPE') process.exit(process.exitCode ?? 0);
    throw error;
  });
  const code = await main(argv);
  process.exitCode = code;
  // A connection a library left open must not keep a finished command alive; the worker returns
  // only once it has shut down.
  setTimeout(() => process.exit(code), 1000).unref();
}

export async function main(argv: readonly string[]): Promise<number> {
  const program = buildProgram();
  const debug = argv.includes('--debug') || /(^|\s)(-l|--loglevel)[ =]?debug\b/i.test(argv.join(' '));
  try {
    if (argv.length <= 2) {
      program.outputHelp({ error: true });
      return 2;
    }
    outcome.exitCode = 0;
    await program.parseAsync([...argv]);
    return outcome.exitCode;
  } catch (error) {
    return report(error, debug);
  }
}

function report(error: unknown, debug: boolean): number {
  if (error instanceof CommanderError) {
    // Commander already printed its message (or the help/version).
    if (
      error.code === 'commander.helpDisplayed' ||
      error.code === 'commander.version' ||
      error.exitCode === 0
    )
      return 0;
    return 2;
  }
  const err = error instanceof Error ? error : new Error(String(error));
  process.stderr.write(`Error: ${err.message}\n`);
  if (error instanceof UsageError) {
    process.stderr.write(`Try 'celeriac ${error.command ? `${error.command} ` : ''}--help' for usage.\n`);
  }
  if (debug) {
    for (let e: unknown = err; e instanceof Error; e = e.cause)
      process.stderr.write(`${e.stack ?? e.message}\n`);
  }
  const exitCode = (err as { exitCode?: unknown }).exitCode;
  return typeof exitCode === 'number' ? exitCode : 1;
}
