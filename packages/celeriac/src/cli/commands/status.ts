import type { Command } from 'commander';
import type { CliContext } from '../context.ts';
import { CliError } from '../errors.ts';
import { formatOnline, formatReply, say } from '../output.ts';
import { commaList, parseSeconds } from '../parse.ts';
import { action, examples } from './shared.ts';

export interface RemoteOptions {
  destination?: string;
  timeout?: string;
  json?: boolean;
}

/** `celeriac status`: pings every worker and lists the ones that answer (celery/bin/control.py `status`). */
export function registerStatus(program: Command): void {
  const cmd = program
    .command('status')
    .description('Show the workers that are online (they answer a ping).')
    .option('-d, --destination <nodes>', 'comma-separated node names to ping')
    .option('-t, --timeout <seconds>', 'how long to wait for replies', '1')
    .option('-j, --json', 'print the replies as JSON')
    .action(action<RemoteOptions>('status', status));
  examples(cmd, [
    'celeriac -b amqp://guest:guest@localhost// status',
    'celeriac -A tasks.ts status -t 3 --json',
  ]);
}

async function status(ctx: CliContext, opts: RemoteOptions): Promise<number> {
  const timeoutMs = (parseSeconds(opts.timeout, '--timeout') ?? 1) * 1000;
  const app = await ctx.app();
  const { ControlClient } = await import('../../control/control-client.ts');
  const client = new ControlClient(app);
  try {
    const replies = await client.inspect(
      'ping',
      {},
      {
        destination: commaList(opts.destination),
        timeoutMs,
        onReply: opts.json ? undefined : (reply) => say(formatReply(reply, false)),
      },
    );
    const count = Object.keys(replies).length;
    if (count === 0) throw new CliError('No nodes replied within time constraint', { code: 'NO_REPLIES' });
    if (opts.json) say(JSON.stringify(replies));
    say(formatOnline(count));
    return 0;
  } finally {
    await client.close();
  }
}
