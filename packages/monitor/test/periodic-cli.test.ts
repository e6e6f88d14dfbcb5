import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { SqlScheduleStore } from 'celeriac';
import { afterAll, describe, expect, it } from 'vitest';
import { runMain } from '../../celeriac/test/cli/main-in-process.ts';

const CLI = fileURLToPath(new URL('../../celeriac/bin/celeriac.js', import.meta.url));
const TOKEN = 'periodic-cli-token-0123456789';
const dir = mkdtempSync(join(tmpdir(), 'celeriac-monitor-periodic-cli-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function run(args: string[], env: Record<string, string> = {}) {
  const child = spawn(
    process.execPath,
    [
      CLI,
      '-b',
      'memory://periodic-cli',
      'monitor',
      '--db',
      `sqlite://${join(dir, 'h.db')}`,
      '--port',
      '0',
      ...args,
    ],
    {
      cwd: dir,
      env: {
        ...process.env,
        CELERIAC_LOG_FORMAT: 'json',
        CELERIAC_MONITOR_USER: '',
        CELERIAC_MONITOR_PASSWORD: '',
        CELERIAC_MONITOR_TOKEN: TOKEN,
        CELERIAC_BEAT_DB_URL: '',
        CELERIAC_RESULT_BACKEND: '',
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

describe('celeriac monitor -S', () => {
  it('refuses an unknown scheduler, --db-url alone and a db scheduler without a database (exit 2)', async () => {
    const saved = process.env.CELERIAC_BEAT_DB_URL;
    delete process.env.CELERIAC_BEAT_DB_URL;
    const monitor = (...args: string[]) =>
      runMain(['-b', 'memory://periodic-cli', 'monitor', '--insecure-no-auth', '--port', '0', ...args]);
    try {
      const shelve = await monitor('-S', 'shelve');
      expect(shelve.code).toBe(2);
      expect(shelve.stderr).toMatch(/-S\/--scheduler must be one of db, django, file, got "shelve"/);
      const alone = await monitor('--db-url', 'sqlite:///x.db');
      expect(alone.code).toBe(2);
      expect(alone.stderr).toMatch(/--db-url needs -S db or -S django/);
      const noDb = await monitor('-S', 'db');
      expect(noDb.code).toBe(2);
      expect(noDb.stderr).toMatch(
        /the db scheduler needs a database: pass --db-url .* or set CELERIAC_BEAT_DB_URL/,
      );
      const down = await monitor('-S', 'db', '--db-url', 'postgresql://nobody@127.0.0.1:1/none');
      expect(down.code).toBe(2);
      expect(down.stderr).toMatch(/cannot read the schedule store db:postgresql:/);
    } finally {
      if (saved !== undefined) process.env.CELERIAC_BEAT_DB_URL = saved;
    }
  });

  it('-S db with CELERIAC_BEAT_DB_URL (as celeriac beat) serves beat’s entries on the API', async () => {
    const url = `sqlite://${join(dir, 'beat.db')}`;
    const store = new SqlScheduleStore({ url });
    await store.upsert('nightly', { task: 'tasks.report', schedule: { crontab: '0 3 * * *' } });
    await store.close();
    const { child, out } = run(['-S', 'db'], { CELERIAC_BEAT_DB_URL: url });
    try {
      const deadline = Date.now() + 20_000;
      while (!/http:\/\/127\.0\.0\.1:\d+/.test(out())) {
        if (Date.now() > deadline || child.exitCode !== null)
          throw new Error(`monitor did not start: ${out()}`);
        await new Promise((r) => setTimeout(r, 50));
      }
      const base = /http:\/\/127\.0\.0\.1:\d+/.exec(out())![0];
      const res = await fetch(`${base}/api/periodic-tasks`, {
        headers: { Authorization: `Bearer ${TOKEN}` },
      });
      expect(res.status).toBe(200);
      expect(await res.json()).toMatchObject({
        editable: true,
        store: `db:${url}`,
        periodic_tasks: [{ name: 'nightly', task: 'tasks.report', description: 'at 03:00' }],
      });
    } finally {
      child.kill('SIGTERM');
      const [code] = await once(child, 'close');
      expect(code).toBe(0);
    }
  });
});
