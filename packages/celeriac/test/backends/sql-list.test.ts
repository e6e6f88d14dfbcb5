import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { SqlBackend } from '../../src/backends/sql/sql-backend.ts';
import { silentLogger } from '../../src/util/logger.ts';

const dir = mkdtempSync(join(tmpdir(), 'celeriac-sql-list-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function make(url: string): SqlBackend {
  return new SqlBackend(url, {
    logger: silentLogger,
    resultExpiresMs: 60_000,
    oid: 'unused',
    getBrokerTransport: () => Promise.reject(new Error('SQL backends do not use the broker')),
  });
}

const base = { traceback: null, children: [], date_done: null };

describe('SqlBackend.list (sqlite)', () => {
  it('lists stored results newest first, filters by name and state, skips expired rows', async () => {
    const backend = make(`sqlite://${join(dir, 'list.db')}`);
    await backend.connect();
    try {
      await backend.store(
        { ...base, task_id: 'a', status: 'SUCCESS', result: 3, name: 'tasks.add', args: [1, 2] },
        {},
      );
      await new Promise((r) => setTimeout(r, 5));
      await backend.store({ ...base, task_id: 'b', status: 'STARTED', result: null, name: 'tasks.mail' }, {});
      await new Promise((r) => setTimeout(r, 5));
      await backend.store({ ...base, task_id: 'c', status: 'SUCCESS', result: 7, name: 'tasks.add' }, {});
      await backend.store({ ...base, task_id: 'gone', status: 'SUCCESS', result: 1 }, { expiresSeconds: 0 });

      const all = await backend.list();
      expect(all.map((r) => r.task_id)).toEqual(['c', 'b', 'a']);
      expect(all[2]).toMatchObject({ status: 'SUCCESS', result: 3, name: 'tasks.add', args: [1, 2] });
      expect(all[2]!.created_at_ms).toBeGreaterThan(0);

      expect((await backend.list({ name: 'tasks.add' })).map((r) => r.task_id)).toEqual(['c', 'a']);
      expect((await backend.list({ states: ['STARTED'] })).map((r) => r.task_id)).toEqual(['b']);
      expect(await backend.list({ states: [] })).toEqual([]);
      expect((await backend.list({ limit: 1, offset: 1 })).map((r) => r.task_id)).toEqual(['b']);
      await expect(backend.list({ limit: 0 })).rejects.toThrow(/limit must be 1\.\.1000/);
      await expect(backend.list({ offset: -1 })).rejects.toThrow(/offset must be >= 0/);
    } finally {
      await backend.close();
    }
  });

  it("refuses django-celery-results' table, which Django admin lists", async () => {
    const backend = make(`sqlite://${join(dir, 'django.db')}?celeriac_tables=django&celeriac_migrate=false`);
    await backend.connect();
    try {
      await expect(backend.list()).rejects.toThrow(/django-celery-results/);
    } finally {
      await backend.close();
    }
  });
});
