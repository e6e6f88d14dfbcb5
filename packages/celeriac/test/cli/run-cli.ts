import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { fileURLToPath } from 'node:url';

export const CLI = fileURLToPath(new URL('../../bin/celeriac.js', import.meta.url));
export const INDEX = fileURLToPath(new URL('../../src/index.ts', import.meta.url));

export interface CliResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs `node bin/celeriac.js ...args` to completion; kills it after `timeoutMs`. */
export function runCli(
  args: string[],
  options: { cwd?: string; env?: NodeJS.ProcessEnv; timeoutMs?: number } = {},
): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    const child = spawnCli(args, options);
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), options.timeoutMs ?? 20_000);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

export function spawnCli(
  args: string[],
  options: { cwd?: string; env?: NodeJS.ProcessEnv } = {},
): ChildProcessWithoutNullStreams {
  return spawn(process.execPath, [CLI, ...args], {
    cwd: options.cwd,
    // JSON logs, whatever the terminal; no broker settings leak in from the developer's shell.
    env: {
      ...process.env,
      CELERIAC_LOG_FORMAT: 'json',
      CELERIAC_BROKER_URL: '',
      CELERIAC_RESULT_BACKEND: '',
      ...options.env,
    },
  });
}

/** Resolves with everything printed so far once `pattern` appears on the stream. */
export function waitForOutput(
  stream: NodeJS.ReadableStream,
  pattern: RegExp,
  timeoutMs: number,
): Promise<string> {
  return new Promise((resolve, reject) => {
    let seen = '';
    const onData = (d: Buffer) => {
      seen += d.toString();
      if (pattern.test(seen)) {
        stream.off('data', onData);
        clearTimeout(timer);
        resolve(seen);
      }
    };
    const timer = setTimeout(() => {
      stream.off('data', onData);
      reject(new Error(`timed out waiting for ${pattern}; got:\n${seen}`));
    }, timeoutMs);
    stream.on('data', onData);
  });
}
