import type { Command } from 'commander';
import type { CliContext } from '../context.ts';
import { UsageError } from '../errors.ts';
import { say } from '../output.ts';
import { action, examples } from './shared.ts';

interface EventsCliOptions {
  dump?: boolean;
  json?: boolean;
}

/** `celeriac events --dump`: prints the cluster's events as they happen (celery/bin/events.py). */
export function registerEvents(program: Command): void {
  const cmd = program
    .command('events')
    .description('Show the event stream (celeryev): task and worker events from every worker.')
    .option('-d, --dump', 'print each event as a line, as `celery events --dump` (the only mode so far)')
    .option('-j, --json', 'print each event as a JSON line instead')
    .addHelpText(
      'after',
      '\nWorkers send task events only with -E (or after `celeriac control enable_events`).',
    )
    .action(action<EventsCliOptions>('events', (ctx, opts) => dumpEvents(ctx, opts)));
  examples(cmd, [
    'celeriac -b amqp://guest:guest@localhost// events --dump',
    'celeriac -A tasks.ts events --json | jq .type',
  ]);
}

async function dumpEvents(ctx: CliContext, opts: EventsCliOptions): Promise<number> {
  if (!opts.dump && !opts.json)
    throw new UsageError(
      'choose --dump (lines) or --json (JSON lines); the curses view is `celeriac monitor`',
    );
  const app = await ctx.app();
  const { EventReceiver } = await import('../../events/receiver.ts');
  const { EventDumpState, formatEvent } = await import('../../events/dump.ts');
  const state = new EventDumpState();
  const receiver = new EventReceiver(app, { logger: ctx.logger });
  receiver.on('*', (event) => say(opts.json ? JSON.stringify(event) : formatEvent(event, state)));
  let stop!: () => void;
  const stopped = new Promise<void>((resolve) => (stop = resolve));
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
  try {
    if (!opts.json) say('-> evdump: starting capture...');
    await receiver.start();
    await stopped;
    return 0;
  } finally {
    process.off('SIGINT', stop);
    process.off('SIGTERM', stop);
    await receiver.stop();
  }
}
