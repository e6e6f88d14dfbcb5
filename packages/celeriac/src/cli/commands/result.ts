import type { Command } from 'commander';
import type { CliContext } from '../context.ts';
import { UsageError } from '../errors.ts';
import { say, warn } from '../output.ts';
import { parseSeconds } from '../parse.ts';
import { action, examples } from './shared.ts';

interface ResultOptions {
  wait?: boolean;
  timeout?: string;
  traceback?: boolean;
}

/** `celeriac result <id>`: a task's state and result from the result backend. */
export function registerResult(program: Command): void {
  const cmd = program
    .command('result')
    .description(
      'Print a task result as JSON (exit 0), its failure as "ExcType: message" (exit 1), or its state while not ready.',
    )
    .argument('<task-id>', 'the id `call` printed')
    .option('--wait', 'wait until the task is ready')
    .option('--timeout <seconds>', 'with --wait, give up after this many seconds')
    .option('--traceback', 'print the traceback of a failed task')
    .action(action<ResultOptions>('result', showResult));
  examples(cmd, [
    'celeriac --result-backend redis://localhost/0 result 8f1c2a9e-3d0b-4f5e-9a6b-2c7d1e4f5a60',
    'celeriac -A tasks.ts result 8f1c2a9e-3d0b-4f5e-9a6b-2c7d1e4f5a60 --wait --timeout 10',
  ]);
}

async function showResult(ctx: CliContext, opts: ResultOptions, words: string[]): Promise<number> {
  const { isExceptionInfo } = await import('../../result/meta.ts');
  const { isReady } = await import('../../result/states.ts');
  const id = words[0]!;
  const timeoutS = parseSeconds(opts.timeout, '--timeout');
  const app = await ctx.app();
  if (!app.conf.backend)
    throw new UsageError('no result backend: pass --result-backend <url> or set CELERIAC_RESULT_BACKEND');
  const backend = await app.requireBackend();
  const meta = opts.wait
    ? await backend.waitReady(id, { timeoutMs: timeoutS === undefined ? undefined : timeoutS * 1000 })
    : await backend.get(id);
  if (!isReady(meta.status)) {
    say(meta.status);
    return 0;
  }
  if (meta.status === 'SUCCESS') {
    say(JSON.stringify(meta.result) ?? 'null');
    return 0;
  }
  const info = isExceptionInfo(meta.result) ? meta.result : undefined;
  const message = info
    ? `${info.exc_type}: ${(Array.isArray(info.exc_message) ? info.exc_message : [info.exc_message]).map(String).join(', ')}`
    : `${meta.status}: ${JSON.stringify(meta.result)}`;
  warn(message);
  if (opts.traceback && meta.traceback) say(meta.traceback);
  return 1;
}
