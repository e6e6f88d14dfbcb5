/**
 * Errors the CLI turns into an exit code and one line on stderr (no stack trace unless
 * `--debug` or `-l debug`). Exit codes: 2 for usage (bad flags or arguments), 1 for runtime.
 */
export class UsageError extends Error {
  readonly code = 'CLI_USAGE';
  readonly exitCode = 2;
  constructor(
    message: string,
    /** The command whose `--help` to suggest. */
    readonly command?: string,
  ) {
    super(message);
    this.name = 'UsageError';
  }
}

export class CliError extends Error {
  readonly code: string;
  readonly exitCode: number;
  constructor(message: string, options: { code?: string; exitCode?: number; cause?: unknown } = {}) {
    super(message, { cause: options.cause });
    this.name = 'CliError';
    this.code = options.code ?? 'CLI_ERROR';
    this.exitCode = options.exitCode ?? 1;
  }
}
