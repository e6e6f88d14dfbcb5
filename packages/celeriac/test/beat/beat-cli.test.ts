import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { readFile } from 'node:fs/promises';
import { runMain } from '../cli/main-in-process.ts';
import { spawnCli, waitForOutput } from '../cli/run-cli.ts';

const APP = fileURLToPath(new URL('./fixtures/beat-app.ts', import.meta.url));
const WORKER_BEAT_APP = fileURLToPath(new URL('./fixtures/worker-beat-app.ts', import.meta.url));
const dir = mkdtempSync(join(tmpdir(), 'celeriac-beat-cli-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('celeriac beat (CLI)', () => {
  it('--list shows each entry and its next run times', async () => {
    const r = await runMain(['-A', APP, '-l', 'error', 'beat', '--list', '2', '-s', join(dir, 'state.json')]);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(
      /^monday_report: reports\.weekly, every Monday at 08:30 \(Europe\/Berlin\)\n {2}last run: never \(0 runs\)\n {2}next:\n {4}- \d{4}-\d\d-\d\dT0[67]:30:00\.000Z\n {4}- /m,
    );
    expect(r.stdout).toMatch(/^scheduled_task: app\.tasks\.add, every 5 seconds\n/m);
    expect(r.stdout.match(/^ {4}- /gm)).toHaveLength(4);
  });

  it('rejects an unknown scheduler and a db scheduler without a database, with the fix', async () => {
    const bad = await runMain(['-A', APP, 'beat', '-S', 'shelve']);
    const saved = process.env.CELERIAC_BEAT_DB_URL;
    delete process.env.CELERIAC_BEAT_DB_URL;
    const noDb = await runMain(['-A', APP, 'beat', '-S', 'db']).finally(() => {
      if (saved !== undefined) process.env.CELERIAC_BEAT_DB_URL = saved;
    });
    const missed = await runMain(['-A', APP, 'beat', '--missed-runs', 'all']);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/-S\/--scheduler must be one of file, db, django, got "shelve"/);
    expect(noDb.code).toBe(2);
    expect(noDb.stderr).toMatch(/the db scheduler needs a database: pass --db-url/);
    expect(missed.code).toBe(2);
    expect(missed.stderr).toMatch(/--missed-runs must be once or catch-up/);
  });

  it('-S db --list reads beat’s tables in SQLite', async () => {
    const r = await runMain([
      '-A',
      APP,
      '-l',
      'error',
      'beat',
      '-S',
      'db',
      '--db-url',
      `sqlite://${join(dir, 'beat.db')}`,
      '--list',
    ]);
    expect(r.code).toBe(0);
    expect(r.stdout.trim()).toBe('(no periodic tasks)');
  });

  it('runs until SIGTERM: sends on time, saves last runs, exits 0', async () => {
    const state = join(dir, 'run-state.json');
    const child = spawnCli(['-A', APP, 'beat', '-s', state, '-l', 'info'], {
      env: { BEAT_TEST_EVERY: '1s' },
    });
    try {
      const banner = await waitForOutput(child.stdout, /\. lease -> local/, 20_000);
      expect(banner).toMatch(/celeriac beat v\S+ is starting\.[\s\S]*\. db -> file:/);
      const logs = await waitForOutput(
        child.stderr,
        /"entry":"scheduled_task".*"msg":"beat: sent due task"[\s\S]*"msg":"beat: sent due task"/,
        20_000,
      );
      expect(logs).not.toMatch(/"level":50/);
      const exited = new Promise<number | null>((resolve) => child.once('exit', resolve));
      child.kill('SIGTERM');
      expect(await exited).toBe(0);
      const saved = JSON.parse(await readFile(state, 'utf8'));
      expect(saved.entries.scheduled_task.totalRunCount).toBeGreaterThanOrEqual(2);
    } finally {
      child.kill('SIGKILL');
    }
  });

  it('worker -B runs beat inside the worker: the periodic task is sent and run in one process', async () => {
    const child = spawnCli(['-A', WORKER_BEAT_APP, 'worker', '-B', '-l', 'info', '--without-mingle'], {
      cwd: dir,
    });
    try {
      const logs = await waitForOutput(
        child.stderr,
        /Task tasks\.add\[[^\]]+\] succeeded[\s\S]*Task tasks\.add\[[^\]]+\] succeeded/,
        30_000,
      );
      expect(logs).not.toMatch(/"level":50/);
      const exited = new Promise<number | null>((resolve) => child.once('exit', resolve));
      child.kill('SIGTERM');
      expect(await exited).toBe(0);
    } finally {
      child.kill('SIGKILL');
    }
  });
});
