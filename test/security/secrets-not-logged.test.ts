/**
 * Broker, result-backend, lease and monitor passwords never reach a log line, a banner or an error
 * message: worker, beat and monitor run with passworded URLs at DEBUG with --debug (stack traces on)
 * through a real failure each (RabbitMQ refusing the login, PostgreSQL and Redis unreachable), and
 * everything they print is searched for the secrets. Each run must show its failure, or it proves nothing.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, expect, it } from 'vitest';
import { spawnCli } from '../../packages/celeriac/test/cli/run-cli.ts';
import { describeWith, uniqueName } from '../../packages/celeriac/test/helpers/services.ts';

const APP = fileURLToPath(new URL('./fixtures/secret-app.ts', import.meta.url));
const secret = (what: string) => `${what}Pw${Math.random().toString(36).slice(2, 10)}`;
/** Nothing listens on port 1: connecting fails at once with ECONNREFUSED. */
const DEAD = '127.0.0.1:1';

interface Run {
  output: string;
  code: number | null;
  /** SIGKILL: it ignored SIGTERM (issue 8) and the timeout had to kill it. */
  signal: NodeJS.Signals | null;
}

/**
 * Runs the CLI until `pattern` shows in its output (or `timeoutMs`), then stops it with SIGTERM (its
 * shutdown lines are searched too); returns all it printed.
 */
function runUntil(
  args: string[],
  pattern: RegExp,
  env: NodeJS.ProcessEnv = {},
  timeoutMs = 25_000,
): Promise<Run> {
  return new Promise((resolve, reject) => {
    const child = spawnCli(['-A', APP, '-l', 'debug', '--debug', ...args], { env });
    let output = '';
    let matched = false;
    const onData = (d: Buffer) => {
      output += d.toString();
      if (!matched && pattern.test(output)) {
        matched = true;
        // A little longer, so retries and their back-off messages are printed too.
        setTimeout(() => child.kill('SIGTERM'), 1_000);
      }
    };
    child.stdout.on('data', onData);
    child.stderr.on('data', onData);
    // Last resort only: each command acts on SIGTERM at any phase, connecting included.
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.on('error', reject);
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ output, code, signal });
    });
  });
}

await describeWith(['rabbitmq'], 'passwords are never logged', () => {
  const dir = mkdtempSync(join(tmpdir(), 'celeriac-secrets-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  const queue = uniqueName('security-secrets');
  const env = { SECRET_TEST_QUEUE: queue };

  it('worker, beat and monitor keep every password out of what they print, through failures', async () => {
    const s = {
      broker: secret('broker'),
      pg: secret('pg'),
      redis: secret('redis'),
      beatBroker: secret('beatBroker'),
      lease: secret('lease'),
      monitorBroker: secret('monitorBroker'),
      monitorLogin: secret('monitorLogin'),
    };
    const refused = /ACCESS.REFUSED/;
    const unreachable = /ECONNREFUSED|could not start|cannot connect|refused/i;
    const runs = await Promise.all([
      runUntil(['-b', `amqp://guest:${s.broker}@127.0.0.1:5672//`, 'worker', '-Q', queue], refused, env),
      runUntil(
        [
          '-b',
          'amqp://guest:guest@127.0.0.1:5672//',
          '--result-backend',
          `postgresql://celeriac:${s.pg}@${DEAD}/db`,
          'worker',
          '-Q',
          queue,
          '--without-mingle',
        ],
        unreachable,
        env,
      ),
      runUntil(
        [
          '-b',
          'amqp://guest:guest@127.0.0.1:5672//',
          '--result-backend',
          `redis://:${s.redis}@${DEAD}/0`,
          'worker',
          '-Q',
          queue,
          '--without-mingle',
        ],
        unreachable,
        env,
      ),
      runUntil(
        [
          '-b',
          `amqp://guest:${s.beatBroker}@127.0.0.1:5672//`,
          'beat',
          '-s',
          join(dir, 'beat.json'),
          '--lease-url',
          `redis://:${s.lease}@${DEAD}/0`,
        ],
        unreachable,
        env,
      ),
      runUntil(
        [
          '-b',
          `amqp://guest:${s.monitorBroker}@127.0.0.1:5672//`,
          'monitor',
          '--port',
          '0',
          '--db',
          `sqlite://${join(dir, 'monitor.db')}`,
        ],
        refused,
        { ...env, CELERIAC_MONITOR_USER: 'admin', CELERIAC_MONITOR_PASSWORD: s.monitorLogin },
      ),
    ]);
    const [worker, workerPg, workerRedis, beat, monitor] = runs;
    // None needed the SIGKILL of last resort (one that gave up by itself may be ending as SIGTERM comes).
    for (const run of runs) expect(run.signal, run.output).not.toBe('SIGKILL');
    // Each run hit its failure (else this test would prove nothing).
    expect(worker!.output).toMatch(refused);
    expect(workerPg!.output).toMatch(unreachable);
    expect(workerRedis!.output).toMatch(unreachable);
    expect(beat!.output).toMatch(unreachable);
    expect(monitor!.output).toMatch(refused);
    // And they did print the URLs, redacted, so the check below had something to find.
    expect(worker!.output).toMatch(/amqp:\/\/guest:\*\*@127\.0\.0\.1:5672/);
    const all = runs.map((r) => r.output).join('\n');
    for (const [name, value] of Object.entries(s)) {
      expect(all.includes(value), `${name} password appears in the output`).toBe(false);
    }
  }, 60_000);
});
