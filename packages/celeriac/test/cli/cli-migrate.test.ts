import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { runMain } from './main-in-process.ts';

describe('celeriac migrate', () => {
  const dir = mkdtempSync(join(tmpdir(), 'celeriac-migrate-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('creates the result table once, then says it is up to date', async () => {
    const url = `sqlite://${join(dir, 'results.db')}`;
    const first = await runMain(['--result-backend', url, 'migrate']);
    expect(first).toMatchObject({ code: 0 });
    expect(first.stdout).toContain('applied: 0001_task_result');
    const second = await runMain(['--result-backend', url, 'migrate']);
    expect(second.stdout).toContain('already up to date');
  });

  it('refuses a backend that is not SQL, with exit 2', async () => {
    const result = await runMain(['--result-backend', 'redis://127.0.0.1:6379/0', 'migrate']);
    expect(result.code).toBe(2);
    expect(result.stderr).toContain('migrate needs an SQL result backend');
  });
});
