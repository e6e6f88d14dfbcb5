import { createInterface } from 'node:readline/promises';
import type { Command } from 'commander';
import type { CliContext } from '../context.ts';
import { UsageError } from '../errors.ts';
import { say } from '../output.ts';
import { commaList } from '../parse.ts';
import { action, examples } from './shared.ts';

interface PurgeOptions {
  queues?: string;
  force?: boolean;
}

/** `celeriac purge`: removes every waiting message from the queues (celery/bin/purge.py). */
export function registerPurge(program: Command): void {
  const cmd = program
    .command('purge')
    .description('Erase all messages waiting in the task queues. There is no undo.')
    .option('-Q, --queues <q1,q2>', 'comma-separated queues to purge (default: the app default queue)')
    .option('-f, --force', "don't ask for confirmation (required when stdin is not a terminal)")
    .action(action<PurgeOptions>('purge', purge));
  examples(cmd, ['celeriac -b amqp://guest:guest@localhost// purge -Q celery,emails -f']);
}

async function purge(ctx: CliContext, opts: PurgeOptions): Promise<number> {
  const app = await ctx.app();
  const queues = commaList(opts.queues) ?? [app.conf.defaultQueue];
  const names = queues.join(', ');
  if (!opts.force) {
    if (!process.stdin.isTTY) {
      throw new UsageError(
        `refusing to purge ${names} without confirmation: stdin is not a terminal; pass -f to purge anyway`,
      );
    }
    const rl = createInterface({ input: process.stdin, output: process.stdout });
    const answer = await rl.question(
      `WARNING: This will remove all tasks from ${queues.length === 1 ? 'queue' : 'queues'}: ${names}.\n` +
        '         There is no undo for this operation!\n\n(to skip this prompt use the -f option)\n' +
        'Are you sure you want to delete all tasks (yes/NO)? ',
    );
    rl.close();
    if (answer.trim().toLowerCase() !== 'yes') {
      say('Nothing purged.');
      return 1;
    }
  }
  const transport = await app.connection();
  let count = 0;
  for (const queue of queues) count += await transport.purge(queue);
  const plural = (n: number, word: string) => `${word}${n === 1 ? '' : 's'}`;
  say(
    count > 0
      ? `Purged ${count} ${plural(count, 'message')} from ${queues.length} known task ${plural(queues.length, 'queue')}.`
      : `No messages purged from ${queues.length} ${plural(queues.length, 'queue')}.`,
  );
  return 0;
}
