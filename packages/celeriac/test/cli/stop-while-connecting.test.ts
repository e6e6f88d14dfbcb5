/**
 * Issue 8: SIGTERM and SIGINT stop worker, beat and monitor while they are still retrying a broker
 * that refuses the login or a port nobody listens on. Each process is signalled only after it
 * logged a retry, and the app retries 1000 times with back-off, so only the signal can end it: a
 * process that ignored it would be SIGKILLed by the helper, and the test would see that.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { describeWith, uniqueName } from '../helpers/services.ts';
import { CliProcess, type Exit } from './cli-process.ts';

const APP = fileURLToPath(new URL('./fixtures/stop-app.ts', import.meta.url));
const REFUSED_LOGIN = 'amqp://guest:wrong-password@127.0.0.1:5672//';
/** Nothing listens on port 1: each attempt fails at once with ECONNREFUSED. */
const CLOSED_AMQP = 'amqp://guest:guest@127.0.0.1:1//';
const CLOSED_REDIS = 'redis://127.0.0.1:1/0';
/** The first retry of each transport's connect loop. */
const RETRYING = /cannot connect to .*retrying in|redis transport: connection lost, reconnecting/;
/** Exits are counted from the signal; a process still retrying would be killed at 15 s. */
const PROMPTLY_MS = 10_000;
/** Generous: start-up of several CLIs at once on a busy 2-core machine is slow; a normal run takes ~10 s. */
const TEST_TIMEOUT_MS = 60_000;

const dir = mkdtempSync(join(tmpdir(), 'celeriac-stop-'));
const started: CliProcess[] = [];
afterAll(async () => {
  await Promise.all(started.map((p) => p.kill()));
  rmSync(dir, { recursive: true, force: true });
});
const beatFile = () => join(dir, `${uniqueName('beat')}.json`);
const monitorDb = () => `sqlite://${join(dir, `${uniqueName('monitor')}.db`)}`;

/** Starts `command` against `broker`, waits for its first retry, sends `signal`; resolves with the exit. */
async function stopWhileRetrying(
  broker: string,
  command: string[],
  signal: NodeJS.Signals,
): Promise<{ exit: Exit; stderr: string; output: string }> {
  const p = new CliProcess(['-A', APP, '-b', broker, '-l', 'info', ...command], {
    STOP_TEST_QUEUE: uniqueName('stop-connecting'),
  });
  started.push(p);
  await p.waitFor(RETRYING);
  const exit = await p.stop(signal);
  return { exit, stderr: p.stderr, output: p.output };
}

function expectPromptExit(exit: Exit, code: number): void {
  expect(exit.signal, 'killed: it ignored the stop signal').toBeNull();
  expect(exit.code).toBe(code);
  expect(exit.afterSignalMs).toBeLessThan(PROMPTLY_MS);
}

await describeWith(['rabbitmq'], 'stop signals while the broker refuses the connection (issue 8)', () => {
  describe.concurrent('worker', () => {
    it(
      'SIGTERM during login retries: exits 1 saying it never connected, with the broker’s answer',
      async () => {
        const r = await stopWhileRetrying(REFUSED_LOGIN, ['worker', '--without-mingle'], 'SIGTERM');
        expectPromptExit(r.exit, 1);
        expect(r.stderr).toContain(
          'Error: worker stopped by SIGTERM before it was ready: it never connected to amqp://guest:**@127.0.0.1:5672//',
        );
        expect(r.stderr).toMatch(/last error: .*ACCESS.REFUSED/);
        expect(r.output).not.toContain('wrong-password');
      },
      TEST_TIMEOUT_MS,
    );

    it(
      'SIGINT during retries against a closed port: exits 1',
      async () => {
        const r = await stopWhileRetrying(CLOSED_AMQP, ['worker'], 'SIGINT');
        expectPromptExit(r.exit, 1);
        expect(r.stderr).toMatch(
          /worker stopped by SIGINT before it was ready: it never connected to amqp:\/\/guest:\*\*@127\.0\.0\.1:1\/\/ \(last error: .*ECONNREFUSED/,
        );
      },
      TEST_TIMEOUT_MS,
    );

    it(
      'SIGTERM during Redis transport retries: exits 1',
      async () => {
        const r = await stopWhileRetrying(CLOSED_REDIS, ['worker'], 'SIGTERM');
        expectPromptExit(r.exit, 1);
        expect(r.stderr).toMatch(
          /worker stopped by SIGTERM before it was ready: it never connected to redis:/,
        );
      },
      TEST_TIMEOUT_MS,
    );
  });

  describe.concurrent('beat and monitor', () => {
    it(
      'beat: SIGTERM while a send retries the refused login stops it (exit 0: beat itself was running)',
      async () => {
        const r = await stopWhileRetrying(REFUSED_LOGIN, ['beat', '-s', beatFile()], 'SIGTERM');
        expectPromptExit(r.exit, 0);
        expect(r.stderr).toContain('beat: stopping (SIGTERM)');
      },
      TEST_TIMEOUT_MS,
    );

    it(
      'beat: SIGINT while a send retries a closed port',
      async () => {
        const r = await stopWhileRetrying(CLOSED_AMQP, ['beat', '-s', beatFile()], 'SIGINT');
        expectPromptExit(r.exit, 0);
        expect(r.stderr).toContain('beat: stopping (SIGINT)');
      },
      TEST_TIMEOUT_MS,
    );

    it(
      'monitor: SIGTERM during login retries exits 1 with the broker’s answer',
      async () => {
        const r = await stopWhileRetrying(
          REFUSED_LOGIN,
          ['monitor', '--port', '0', '--insecure-no-auth', '--db', monitorDb()],
          'SIGTERM',
        );
        expectPromptExit(r.exit, 1);
        expect(r.stderr).toMatch(
          /Error: monitor stopped by SIGTERM before it was ready \(last error: .*ACCESS.REFUSED/,
        );
      },
      TEST_TIMEOUT_MS,
    );

    it(
      'monitor: SIGINT during retries against a closed port exits 1',
      async () => {
        const r = await stopWhileRetrying(
          CLOSED_AMQP,
          ['monitor', '--port', '0', '--insecure-no-auth', '--db', monitorDb()],
          'SIGINT',
        );
        expectPromptExit(r.exit, 1);
        expect(r.stderr).toMatch(
          /monitor stopped by SIGINT before it was ready \(last error: .*ECONNREFUSED/,
        );
      },
      TEST_TIMEOUT_MS,
    );
  });
});
