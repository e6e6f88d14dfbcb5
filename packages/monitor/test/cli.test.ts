import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';

const CLI = fileURLToPath(new URL('../../celeriac/bin/celeriac.js', import.meta.url));
const dir = mkdtempSync(join(tmpdir(), 'celeriac-monitor-cli-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function run(args: string[], env: Record<string, string> = {}) {
  const child = spawn(
    process.execPath,
    [CLI, '-b', 'memory://monitor-cli', 'monitor', '--db', `sqlite://${join(dir, 'h.db')}`, ...args],
    {
      cwd: dir,
      env: {
        ...process.env,
        CELERIAC_LOG_FORMAT: 'json',
        CELERIAC_MONITOR_USER: '',
        CELERIAC_MONITOR_PASSWORD: '',
        CELERIAC_MONITOR_TOKEN: '',
        ...env,
      },
    },
  );
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  return { child, out: () => stdout, err: () => stderr };
}

describe('celeriac monitor', () => {
  it('refuses to start without a way to log in, and --insecure-no-auth on a public address (exit 2)', async () => {
    // Both at once: each CLI start costs seconds of module loading on a busy machine.
    const noAuth = run(['--port', '0']);
    const publicNoAuth = run(['--port', '0', '--insecure-no-auth', '--address', '0.0.0.0']);
    const [[code1], [code2]] = await Promise.all([
      once(noAuth.child, 'close'),
      once(publicNoAuth.child, 'close'),
    ]);
    expect(code1).toBe(2);
    expect(noAuth.err()).toContain('CELERIAC_MONITOR_USER and CELERIAC_MONITOR_PASSWORD');
    expect(code2).toBe(2);
    expect(publicNoAuth.err()).toContain('localhost only');
  });

  it('serves with a user from the environment, hashed, and stops cleanly on SIGTERM', async () => {
    const { child, out } = run(['--port', '0'], {
      CELERIAC_MONITOR_USER: 'ops',
      CELERIAC_MONITOR_PASSWORD: 'pa55word',
    });
    const deadline = Date.now() + 20_000;
    while (!/http:\/\/127\.0\.0\.1:\d+/.test(out())) {
      if (Date.now() > deadline || child.exitCode !== null)
        throw new Error(`monitor did not start: ${out()}`);
      await new Promise((r) => setTimeout(r, 50));
    }
    const url = /http:\/\/127\.0\.0\.1:\d+/.exec(out())![0];
    expect((await fetch(`${url}/api/workers`)).status).toBe(401);
    const login = await fetch(`${url}/login`, {
      method: 'POST',
      body: new URLSearchParams({ username: 'ops', password: 'pa55word' }),
      redirect: 'manual',
    });
    expect(login.status).toBe(303);
    const cookie = login.headers.get('set-cookie')!.split(';')[0]!;
    expect((await fetch(`${url}/api/workers`, { headers: { cookie } })).status).toBe(200);
    child.kill('SIGTERM');
    const [code] = await once(child, 'close');
    expect(code).toBe(0);
    expect(existsSync(join(dir, 'h.db'))).toBe(true);
  });
});
