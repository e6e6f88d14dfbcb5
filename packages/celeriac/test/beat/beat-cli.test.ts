import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { runCli } from '../cli/run-cli.ts';

const APP = fileURLToPath(new URL('./fixtures/beat-app.ts', import.meta.url));
const dir = mkdtempSync(join(tmpdir(), 'celeriac-beat-cli-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('celeriac beat (CLI)', () => {
  it('--list shows each entry and its next run times', async () => {
    const r = await runCli(['-A', APP, 'beat', '--list', '2', '-s', join(dir, 'state.json')]);
    expect(r.code).toBe(0);
    // Neither task lives in this app: listed anyway, with a warning (a Python worker may run them).
    expect(r.stderr).toMatch(
      /"entry":"scheduled_task".*task is not registered in this app; sending it anyway/,
    );
    expect(r.stdout).toMatch(
      /^monday_report: reports\.weekly crontab 30 8 \* \* mon \(Europe\/Berlin\)\n {2}last run: never \(0 runs\)\n {2}next:\n {4}- \d{4}-\d\d-\d\dT0[67]:30:00\.000Z\n {4}- /m,
    );
    expect(r.stdout).toMatch(/^scheduled_task: app\.tasks\.add every 5s\n/m);
    expect(r.stdout.match(/^ {4}- /gm)).toHaveLength(4);
  });

  it('rejects an unknown scheduler and a db scheduler without a database, with the fix', async () => {
    const [bad, noDb, missed] = await Promise.all([
      runCli(['-A', APP, 'beat', '-S', 'shelve']),
      runCli(['-A', APP, 'beat', '-S', 'db'], { env: { CELERIAC_BEAT_DB_URL: '' } }),
      runCli(['-A', APP, 'beat', '--missed-runs', 'all']),
    ]);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/-S\/--scheduler must be one of file, db, django, got "shelve"/);
    expect(noDb.code).toBe(2);
    expect(noDb.stderr).toMatch(/the db scheduler needs a database: pass --db-url/);
    expect(missed.code).toBe(2);
    expect(missed.stderr).toMatch(/--missed-runs must be once or catch-up/);
  });

  it('-S db --list reads beat’s tables in SQLite', async () => {
    const r = await runCli([
      '-A',
      APP,
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
});
