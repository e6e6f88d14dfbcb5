import type { Command } from 'commander';
import type { ApplyOptions } from '../../task/options.ts';
import type { CliContext } from '../context.ts';
import { UsageError } from '../errors.ts';
import { say, warn } from '../output.ts';
import {
  commaList,
  parseInteger,
  parseIsoTime,
  parseJsonArray,
  parseJsonObject,
  parseSeconds,
} from '../parse.ts';
import { action, examples } from './shared.ts';

interface CallOptions {
  args?: string;
  kwargs?: string;
  countdown?: string;
  eta?: string;
  expires?: string;
  queue?: string;
  priority?: string;
  wait?: boolean;
  timeout?: string;
}

/** `celeriac call <task>`: sends a task by name (it may live in Python) and prints its id. */
export function registerCall(program: Command): void {
  const cmd = program
    .command('call')
    .description('Send a task by name and print its id; with --wait, also its result.')
    .argument('<task>', 'task name, e.g. tasks.add')
    .option('-a, --args <json>', 'positional arguments as a JSON array', undefined)
    .option('-k, --kwargs <json>', 'keyword arguments as a JSON object')
    .option('--countdown <seconds>', 'run no sooner than this many seconds from now')
    .option('--eta <iso>', 'run no sooner than this time (ISO 8601)')
    .option('--expires <seconds|iso>', 'do not run after this many seconds from now, or after this time')
    .option('-Q, --queue <queue>', 'queue to send to (default: the route or the default queue)')
    .option('--priority <n>', 'message priority, 0-255')
    .option('--wait', 'wait for the result and print it (needs a result backend)')
    .option('--timeout <seconds>', 'with --wait, give up after this many seconds')
    .action(action<CallOptions>('call', callTask));
  examples(cmd, [
    `celeriac -b amqp://guest:guest@localhost// call tasks.add --args '[2, 2]'`,
    `celeriac -A tasks.ts call tasks.send_email --kwargs '{"to": "a@b.c"}' --countdown 10`,
    `celeriac -A tasks.ts call tasks.add --args '[2, 2]' --wait --timeout 30`,
  ]);
}

async function callTask(ctx: CliContext, opts: CallOptions, words: string[]): Promise<number> {
  const name = words[0]!;
  const args = parseJsonArray(opts.args, '--args');
  const kwargs = parseJsonObject(opts.kwargs, '--kwargs');
  const options: ApplyOptions = {};
  const countdown = parseSeconds(opts.countdown, '--countdown');
  if (countdown !== undefined) options.countdown = countdown;
  const eta = parseIsoTime(opts.eta, '--eta');
  if (eta !== undefined) options.eta = eta;
  if (opts.expires !== undefined) {
    options.expires = /^\d{4}-/.test(opts.expires)
      ? parseIsoTime(opts.expires, '--expires')
      : parseSeconds(opts.expires, '--expires');
  }
  if (opts.queue !== undefined) options.queue = commaList(opts.queue)?.[0] ?? opts.queue;
  const priority = parseInteger(opts.priority, '--priority', 0, 255);
  if (priority !== undefined) options.priority = priority;
  const timeoutS = parseSeconds(opts.timeout, '--timeout');
  const app = await ctx.app();
  if (opts.wait && !app.conf.backend) {
    throw new UsageError(
      '--wait needs a result backend: pass --result-backend <url> or set CELERIAC_RESULT_BACKEND',
    );
  }
  const result = await app.sendTask(name, args, kwargs, options);
  say(result.id);
  if (!opts.wait) return 0;
  try {
    const value = await result.get({ timeout: timeoutS === undefined ? undefined : timeoutS * 1000 });
    say(JSON.stringify(value) ?? 'null');
    return 0;
  } catch (error) {
    const { TaskError } = await import('../../result/exceptions.ts');
    if (error instanceof TaskError) {
      warn(error.message);
      return 1;
    }
    throw error;
  }
}
