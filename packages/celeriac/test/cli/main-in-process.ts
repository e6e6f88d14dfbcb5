import { vi } from 'vitest';
import { main } from '../../src/cli/main.ts';
import type { CliResult } from './run-cli.ts';

/**
 * Runs the CLI's `main()` in this process with stdout and stderr captured: the same code the
 * binary runs, minus a Node start-up per case (the suite runs on a busy 2-core machine).
 */
export async function runMain(args: string[]): Promise<CliResult> {
  let stdout = '';
  let stderr = '';
  const out = vi.spyOn(process.stdout, 'write').mockImplementation((chunk: string | Uint8Array) => {
    stdout += chunk.toString();
    return true;
  });
  const err = vi.spyOn(process.stderr, 'write').mockImplementation((chunk: string | Uint8Array) => {
    stderr += chunk.toString();
    return true;
  });
  const before = process.exitCode;
  try {
    const code = await main(['node', 'celeriac', ...args]);
    return { code, stdout, stderr };
  } finally {
    out.mockRestore();
    err.mockRestore();
    process.exitCode = before;
  }
}
