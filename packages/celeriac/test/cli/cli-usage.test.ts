import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { runMain } from './main-in-process.ts';
import { INDEX, runCli } from './run-cli.ts';

const HELP: Record<string, string[]> = {
  worker: [
    '--queues',
    '--concurrency',
    '--pool',
    '--hostname',
    '--task-events',
    '--beat',
    '--prefetch-multiplier',
    'Examples:',
  ],
  call: [
    '--args',
    '--kwargs',
    '--countdown',
    '--eta',
    '--expires',
    '--queue',
    '--priority',
    '--wait',
    '--timeout',
    'Examples:',
  ],
  result: ['--wait', '--timeout', '--traceback', 'Examples:'],
  purge: ['--queues', '--force', 'Examples:'],
  status: ['--destination', '--timeout', '--json', 'Examples:'],
  inspect: ['--destination', '--timeout', '--json', 'active_queues', 'query_task', 'Examples:'],
  control: ['--destination', '--timeout', '--json', 'rate_limit', 'add_consumer', 'Examples:'],
};

describe('celeriac CLI: help and usage errors', () => {
  const dir = mkdtempSync(join(tmpdir(), 'celeriac-cli-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('the binary prints help, and refuses bad JSON and unknown commands with exit 2', async () => {
    const [help, badJson, unknown] = await Promise.all([
      runCli(['--help']),
      runCli(['call', 'tasks.add', '--args', 'not json']),
      runCli(['bogus']),
    ]);
    expect(help.code).toBe(0);
    expect(help.stdout).toContain('Usage: celeriac');
    expect(badJson.code).toBe(2);
    expect(badJson.stderr).toMatch(/--args is not valid JSON/);
    expect(badJson.stderr).not.toMatch(/\n\s+at /);
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toMatch(/unknown command 'bogus'/);
  });

  it('prints --help for the program and every command, exit 0', async () => {
    const results: Awaited<ReturnType<typeof runMain>>[] = [];
    for (const args of [['--help'], ...Object.keys(HELP).map((cmd) => [cmd, '--help'])])
      results.push(await runMain(args));
    const [main, ...commands] = results;
    expect(main!.code).toBe(0);
    for (const name of Object.keys(HELP)) expect(main!.stdout).toContain(name);
    expect(main!.stdout).toMatch(/-A, --app <module>/);
    Object.entries(HELP).forEach(([name, words], i) => {
      const r = commands[i]!;
      expect(r.code, `${name} --help`).toBe(0);
      for (const word of words) expect(r.stdout, `${name} --help mentions ${word}`).toContain(word);
    });
  });

  it('rejects bad input with a clear message and exit 2, without a stack trace', async () => {
    const cases: Array<[string[], RegExp]> = [
      [['call', 'tasks.add', '--args', 'not json'], /--args is not valid JSON/],
      [['call', 'tasks.add', '--args', '{"a": 1}'], /--args must be a JSON array/],
      [['call', 'tasks.add', '--kwargs', '[1]'], /--kwargs must be a JSON object/],
      [['call', 'tasks.add', '--countdown', 'soon'], /--countdown must be a number of seconds/],
      [['call', 'tasks.add', '--eta', 'tomorrow'], /--eta must be an ISO 8601 time/],
      [['call', 'tasks.add', '--priority', '300'], /--priority must be an integer from 0 to 255/],
      [['call', 'tasks.add', '--wait', '-b', 'memory://'], /--wait needs a result backend/],
      [['bogus'], /unknown command 'bogus'/],
      [['inspect', 'bogus', '-b', 'memory://'], /unknown inspect command "bogus"/],
      [['control', 'ping', '-b', 'memory://'], /unknown control command "ping"/],
      [['control', 'revoke', '-b', 'memory://'], /revoke needs at least one task id/],
      [['control', 'pool_grow', 'many', '-b', 'memory://'], /n must be an integer/],
      [['control', 'cancel_consumer', 'a', 'b', '-b', 'memory://'], /takes arguments: <queue>/],
      [['-l', 'loud', 'status'], /--loglevel must be one of/],
      [['worker'], /needs the app: pass -A/],
      [['-A', join(dir, 'nope.ts'), 'worker'], /no such file/],
      [['worker', '-P', 'threads'], /-P threads needs -A <module>/],
      [['-A', join(dir, 'tasks.ts'), 'worker', '--autoscale', '3,5'], /--autoscale must be max,min/],
      [
        ['-A', join(dir, 'tasks.ts'), 'worker', '--max-tasks-per-child', '0'],
        /--max-tasks-per-child must be an integer from 1/,
      ],
      [['-A', join(dir, 'tasks.ts'), 'worker', '-P', 'gevent'], /-P\/--pool must be one of/],
      [['-A', join(dir, 'tasks.ts'), 'worker', '-c', '0'], /--concurrency must be an integer from 1/],
      [['-A', join(dir, 'noapp.ts'), 'worker'], /exports no Celeriac app/],
      [['-A', join(dir, 'tasks.ts'), 'purge'], /stdin is not a terminal; pass -f/],
    ];
    writeFileSync(
      join(dir, 'tasks.ts'),
      `import { Celeriac } from ${JSON.stringify(INDEX)};\nexport const app = new Celeriac();\n`,
    );
    writeFileSync(join(dir, 'noapp.ts'), 'export const answer = 42;\n');
    const results: Awaited<ReturnType<typeof runMain>>[] = [];
    for (const [args] of cases) results.push(await runMain(args));
    results.forEach((r, i) => {
      const [args, message] = cases[i]!;
      expect(r.code, `${args.join(' ')}: ${r.stderr}`).toBe(2);
      expect(r.stderr, args.join(' ')).toMatch(message);
      expect(r.stderr, args.join(' ')).not.toMatch(/\n\s+at /);
    });
  });

  it('reports runtime failures with exit 1; --debug adds the stack', async () => {
    writeFileSync(join(dir, 'broken.ts'), 'throw new Error("module exploded");\n');
    const debug = await runMain(['--debug', '-A', join(dir, 'broken.ts'), 'status']);
    const broken = await runMain(['-A', join(dir, 'broken.ts'), 'status']);
    const none = await runMain(['-b', 'memory://', 'status', '-t', '0.2']);
    expect(broken.code).toBe(1);
    expect(broken.stderr).toMatch(/module failed to load: module exploded/);
    expect(broken.stderr).not.toMatch(/\n\s+at /);
    expect(debug.code).toBe(1);
    expect(debug.stderr).toMatch(/\n\s+at /);
    const unreachable = await runMain([
      '-l',
      'critical',
      '-b',
      'amqp://guest:guest@127.0.0.1:1//',
      'call',
      'tasks.add',
    ]);
    expect(unreachable.code).toBe(1);
    expect(unreachable.stderr).toMatch(/Error: cannot connect to amqp:\/\/guest:\*\*@127\.0\.0\.1:1\/\//);
    expect(none.code).toBe(1);
    expect(none.stderr).toMatch(/No nodes replied within time constraint/);
  });
});
