import type { Command } from 'commander';
import { COMMANDS, CommandArgumentError, compileArguments } from '../../control/commands.ts';
import type { CliContext } from '../context.ts';
import { CliError, UsageError } from '../errors.ts';
import { formatOnline, formatReply, say } from '../output.ts';
import { commaList, parseSeconds } from '../parse.ts';
import { action, examples } from './shared.ts';
import type { RemoteOptions } from './status.ts';

/** `celeriac inspect <command>`: asks workers about their state (celery/bin/control.py `inspect`). */
export function registerInspect(program: Command): void {
  register(program, 'inspect', 'Inspect the workers at runtime.', [
    'celeriac -b amqp://guest:guest@localhost// inspect ping',
    'celeriac -A tasks.ts inspect active -d celery@host1,celery@host2 --json',
    'celeriac -A tasks.ts inspect query_task 8f1c2a9e-3d0b-4f5e-9a6b-2c7d1e4f5a60',
  ]);
}

/** `celeriac control <command> [args]`: changes workers at runtime (celery/bin/control.py `control`). */
export function registerControl(program: Command): void {
  register(program, 'control', 'Control the workers at runtime.', [
    'celeriac -A tasks.ts control revoke 8f1c2a9e-3d0b-4f5e-9a6b-2c7d1e4f5a60',
    'celeriac -A tasks.ts control terminate SIGKILL 8f1c2a9e-3d0b-4f5e-9a6b-2c7d1e4f5a60',
    'celeriac -A tasks.ts control rate_limit tasks.add 10/s -d celery@host1',
    'celeriac -A tasks.ts control add_consumer emails',
  ]);
}

function register(program: Command, type: 'inspect' | 'control', description: string, lines: string[]): void {
  const commands = [...COMMANDS.values()].filter((c) => c.type === type);
  const width = Math.max(...commands.map((c) => `${c.name} ${c.signature}`.length));
  const table = commands.map((c) => `  ${`${c.name} ${c.signature}`.padEnd(width)}  ${c.help}`).join('\n');
  const cmd = program
    .command(type)
    .description(description)
    .argument('<command>', `one of: ${commands.map((c) => c.name).join(', ')}`)
    .argument('[args...]', "the command's arguments (see below)")
    .option('-d, --destination <nodes>', 'comma-separated node names to address (default: all)')
    .option('-t, --timeout <seconds>', 'how long to wait for replies', '1')
    .option('-j, --json', 'print the replies as JSON')
    .addHelpText('after', `\nCommands:\n${table}`)
    .action(action<RemoteOptions>(type, (ctx, opts, words) => remote(type, ctx, opts, words)));
  examples(cmd, lines);
}

async function remote(
  type: 'inspect' | 'control',
  ctx: CliContext,
  opts: RemoteOptions,
  words: string[],
): Promise<number> {
  const [name, ...rest] = words;
  const command = name === undefined ? undefined : COMMANDS.get(name);
  if (!command || command.type !== type) {
    const choices = [...COMMANDS.values()].filter((c) => c.type === type).map((c) => c.name);
    throw new UsageError(
      `unknown ${type} command ${JSON.stringify(name)}: choose from ${choices.join(', ')}`,
    );
  }
  let args: Record<string, unknown>;
  try {
    args = compileArguments(command, rest);
  } catch (error) {
    if (error instanceof CommandArgumentError) throw new UsageError(error.message);
    throw error;
  }
  if (
    (command.name === 'revoke' || command.name === 'terminate') &&
    (args.task_id as string[]).length === 0
  ) {
    throw new UsageError(`${command.name} needs at least one task id: ${command.name} ${command.signature}`);
  }
  const timeoutMs = (parseSeconds(opts.timeout, '--timeout') ?? 1) * 1000;
  const app = await ctx.app();
  const { ControlClient } = await import('../../control/control-client.ts');
  const client = new ControlClient(app);
  try {
    if (command.name === 'shutdown') {
      // Workers never answer shutdown (Celery exits before replying), so waiting would only
      // end in "no nodes replied"; send it and say so.
      await client.cast('shutdown', args, { destination: commaList(opts.destination) });
      say(`Shutdown sent to ${opts.destination ? commaList(opts.destination)!.join(', ') : 'all workers'}.`);
      return 0;
    }
    const replies = await client.inspect(command.name, args, {
      destination: commaList(opts.destination),
      timeoutMs,
      onReply: opts.json ? undefined : (reply) => say(formatReply(reply, true)),
    });
    const count = Object.keys(replies).length;
    if (count === 0) throw new CliError('No nodes replied within time constraint', { code: 'NO_REPLIES' });
    if (opts.json) say(JSON.stringify(replies));
    // Celery closes `inspect` with a node count; `control` ends with the replies.
    else if (type === 'inspect') say(formatOnline(count));
    return 0;
  } finally {
    await client.close();
  }
}
