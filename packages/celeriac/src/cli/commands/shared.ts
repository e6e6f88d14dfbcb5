import type { Command } from 'commander';
import type { LevelWithSilent } from 'pino';
import type { CliContext, GlobalOptions } from '../context.ts';
import { UsageError } from '../errors.ts';

/** The exit status the last action asked for; `main` reads it (process.exitCode stays untouched). */
export const outcome = { exitCode: 0 };

/**
 * Wraps a command's action: builds the context from the global options (loading the heavy
 * modules only now, so `--help` stays fast), closes the app's connections afterwards, and names
 * the command in usage errors.
 */
export function action<O>(
  name: string,
  fn: (ctx: CliContext, opts: O, args: string[]) => Promise<number | void>,
  defaultLevel: LevelWithSilent = 'warn',
): (...args: unknown[]) => Promise<void> {
  return async (...args: unknown[]) => {
    const cmd = args[args.length - 1] as Command;
    const opts = cmd.optsWithGlobals() as O & GlobalOptions;
    let ctx: CliContext | undefined;
    try {
      const { CliContext } = await import('../context.ts');
      ctx = new CliContext(opts, defaultLevel);
      const code = await fn(ctx, opts, cmd.args);
      outcome.exitCode = typeof code === 'number' ? code : 0;
    } catch (error) {
      if (error instanceof UsageError && !error.command) throw new UsageError(error.message, name);
      throw error;
    } finally {
      await ctx?.close().catch((error: unknown) => ctx?.logger.debug({ err: error }, 'close failed'));
    }
  };
}

/** Appends an Examples section to a command's --help. */
export function examples(cmd: Command, lines: string[]): Command {
  return cmd.addHelpText('after', `\nExamples:\n${lines.map((l) => `  $ ${l}`).join('\n')}`);
}
