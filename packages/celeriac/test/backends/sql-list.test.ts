import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ResultCursorError, SqlBackend, type StoredResult } from '../../src/backends/sql/sql-backend.ts';
import type { SqlDialectName } from '../../src/backends/sql/sql-connection.ts';
import { silentLogger } from '../../src/util/logger.ts';
import { describeWith, type ServiceName } from '../helpers/services.ts';
import {
  djangoResultDdl,
  scratchDatabase,
  seedOurTable,
  type ScratchDatabase,
} from './sql-test-databases.ts';

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
});

const DATABASES: Array<[SqlDialectName, ServiceName[]]> = [
  ['sqlite', []],
  ['postgres', ['postgres']],
  ['mysql', ['mysql']],
];

async function drain(backend: SqlBackend, options: Parameters<SqlBackend['listPage']>[0]): Promise<string[]> {
  const ids: string[] = [];
  let cursor: string | undefined;
  for (let pages = 0; pages < 100; pages++) {
    const page = await backend.listPage({ ...options, ...(cursor !== undefined && { cursor }) });
    ids.push(...page.results.map((r) => r.task_id));
    if (page.next === null) return ids;
    cursor = page.next;
  }
  throw new Error('listPage never ended');
}

for (const [dialect, services] of DATABASES) {
  await describeWith(services, `SqlBackend.listPage (${dialect})`, () => {
    let db: ScratchDatabase;
    let backend: SqlBackend;
    beforeAll(async () => {
      db = await scratchDatabase(dialect);
      backend = make(db.url);
      await backend.connect();
    });
    afterAll(async () => {
      await backend?.close();
      await db?.drop();
    });

    it('pages newest first with a cursor, filters, searches and counts without a full count', async () => {
      const t0 = Date.now();
      for (let i = 0; i < 23; i++) {
        await backend.store(
          {
            ...base,
            task_id: `task-${String(i).padStart(2, '0')}`,
            status: i % 2 ? 'SUCCESS' : 'FAILURE',
            result: i,
            name: i % 3 ? 'tasks.add' : 'tasks.mail',
            args: [i, i % 5 === 0 ? '50%_off!' : 'plain'],
            kwargs: { n: i },
          },
          {},
        );
      }
      const newestFirst = Array.from({ length: 23 }, (_, i) => `task-${String(22 - i).padStart(2, '0')}`);
      // Several rows share a millisecond: the id breaks ties, so no row is lost or repeated.
      expect(await drain(backend, { limit: 4 })).toEqual(newestFirst);

      const first = await backend.listPage({ limit: 5 });
      expect(first.total).toEqual({ count: 23, kind: 'exact' });
      expect(first.results[0]).toMatchObject({ task_id: 'task-22', status: 'FAILURE', result: 22 });
      expect(first.results[0]!.args_repr).toBe('[22,"plain"]');
      expect(first.results[0]!.created_at_ms).toBeGreaterThanOrEqual(t0 - 1000);

      const failures = await drain(backend, { states: ['FAILURE'], limit: 3 });
      expect(failures).toEqual(newestFirst.filter((id) => Number(id.slice(5)) % 2 === 0));
      expect(await drain(backend, { name: 'tasks.mail', limit: 3 })).toEqual(
        newestFirst.filter((id) => Number(id.slice(5)) % 3 === 0),
      );
      expect(await drain(backend, { states: [] })).toEqual([]);
      // Search: an exact id, an id substring, and args with LIKE's own characters taken literally.
      expect(await drain(backend, { search: 'task-07' })).toEqual(['task-07']);
      expect(await drain(backend, { search: 'k-1' })).toEqual(
        newestFirst.filter((id) => id.startsWith('task-1')),
      );
      expect(await drain(backend, { search: '50%_off' })).toEqual([
        'task-20',
        'task-15',
        'task-10',
        'task-05',
        'task-00',
      ]);
      expect(await drain(backend, { search: '50%x' })).toEqual([]);
      // Dates: nothing before the run, everything within it.
      expect(await drain(backend, { createdToMs: t0 - 60_000 })).toEqual([]);
      expect((await drain(backend, { createdFromMs: t0 - 60_000, createdToMs: Date.now() + 1 })).length).toBe(
        23,
      );

      // Past the cap the total is not counted: at least the cap, or the planner's estimate.
      const capped = await backend.listPage({ limit: 2, countCap: 10, states: ['SUCCESS'] });
      expect(capped.total).toEqual({ count: 10, kind: 'at-least' });
      const unfiltered = await backend.listPage({ limit: 2, countCap: 10 });
      expect(['at-least', 'estimate']).toContain(unfiltered.total.kind);
      expect(unfiltered.total.count).toBeGreaterThanOrEqual(10);

      await expect(backend.listPage({ cursor: 'bm9wZQ' })).rejects.toBeInstanceOf(ResultCursorError);
      await expect(backend.listPage({ limit: 1001 })).rejects.toThrow(/limit must be 1\.\.1000/);
    });

    it('reads one stored result and deletes it', async () => {
      await backend.store(
        {
          ...base,
          task_id: 'one',
          status: 'FAILURE',
          result: { exc_type: 'ValueError', exc_message: ['no'] },
          traceback: 'Traceback…',
          name: 'tasks.x',
          args: [1],
        },
        {},
      );
      const stored = (await backend.getStored('one')) as StoredResult;
      expect(stored).toMatchObject({ task_id: 'one', status: 'FAILURE', traceback: 'Traceback…', args: [1] });
      expect(await backend.deleteResult('one')).toBe(true);
      expect(await backend.getStored('one')).toBeUndefined();
      expect(await backend.deleteResult('one')).toBe(false);
    });

    it('walks an index for the first page over 100 000 rows (EXPLAIN, not a stopwatch)', async () => {
      await db.exec(seedOurTable(dialect, 100_000, Date.UTC(2020, 0, 1)));
      if (dialect === 'postgres') await db.exec('analyze celeriac_task_result');
      if (dialect === 'mysql') await db.exec('analyze table celeriac_task_result');
      if (dialect === 'sqlite') await db.exec('analyze');
      for (const filter of [{}, { states: ['FAILURE'] }, { name: 'tasks.t3' }]) {
        const plan = (await backend.explainListPage(filter)).join('\n');
        if (dialect === 'postgres') {
          expect(plan).toMatch(/Index Scan/);
          // An incremental sort only orders rows that tie on the presorted key; a full Sort reads them all.
          expect(plan).not.toMatch(/Seq Scan|->\s+Sort\s+\(|^Sort\s+\(/m);
        } else if (dialect === 'mysql') {
          expect(plan).toMatch(/key=celeriac_task_result_\w+_idx/);
          expect(plan).not.toMatch(/type=ALL|filesort/);
        } else {
          expect(plan).toMatch(/USING INDEX celeriac_task_result_\w+_idx/);
          expect(plan).not.toMatch(/TEMP B-TREE/);
        }
      }
      // And the pages themselves still come out right at depth.
      const page = await backend.listPage({ limit: 3, states: ['SUCCESS'] });
      expect(page.total.kind).not.toBe('exact');
      const next = await backend.listPage({ limit: 3, states: ['SUCCESS'], cursor: page.next! });
      expect(next.results.map((r) => r.status)).toEqual(['SUCCESS', 'SUCCESS', 'SUCCESS']);
      expect(next.results[0]!.created_at_ms).toBeLessThanOrEqual(page.results[2]!.created_at_ms);
      const seen = new Set([...page.results, ...next.results].map((r) => r.task_id));
      expect(seen.size).toBe(6);
    }, 60_000);
  });

  await describeWith(services, `SqlBackend.listPage on django-celery-results' table (${dialect})`, () => {
    let db: ScratchDatabase;
    let backend: SqlBackend;
    beforeAll(async () => {
      db = await scratchDatabase(dialect);
      await db.exec(djangoResultDdl(dialect));
      backend = make(`${db.url}${db.url.includes('?') ? '&' : '?'}celeriac_tables=django`);
      await backend.connect();
    });
    afterAll(async () => {
      await backend?.close();
      await db?.drop();
    });

    it('lists, filters, reads and deletes rows of the Django table', async () => {
      for (let i = 0; i < 7; i++) {
        await backend.store(
          {
            ...base,
            task_id: `dj-${i}`,
            status: i % 2 ? 'SUCCESS' : 'STARTED',
            result: i,
            name: `tasks.d${i % 2}`,
            args: [i, 'x<y>'],
            kwargs: {},
          },
          {},
        );
      }
      expect(await drain(backend, { limit: 2 })).toEqual([
        'dj-6',
        'dj-5',
        'dj-4',
        'dj-3',
        'dj-2',
        'dj-1',
        'dj-0',
      ]);
      expect(await drain(backend, { states: ['SUCCESS'], limit: 2 })).toEqual(['dj-5', 'dj-3', 'dj-1']);
      expect(await drain(backend, { name: 'tasks.d0' })).toEqual(['dj-6', 'dj-4', 'dj-2', 'dj-0']);
      expect(await drain(backend, { search: 'x<y>' })).toHaveLength(7);
      expect(await drain(backend, { createdFromMs: Date.now() - 60_000 })).toHaveLength(7);
      expect(await drain(backend, { createdToMs: Date.now() - 60_000 })).toEqual([]);
      const page = await backend.listPage({ limit: 1 });
      expect(page.total).toEqual({ count: 7, kind: 'exact' });
      // django-celery-results keeps Python reprs of the arguments.
      expect(page.results[0]).toMatchObject({ task_id: 'dj-6', name: 'tasks.d0', args_repr: "(6, 'x<y>')" });
      expect(page.results[0]!.created_at_ms).toBeGreaterThan(Date.now() - 60_000);
      expect(await backend.getStored('dj-5')).toMatchObject({ status: 'SUCCESS', result: 5 });
      expect(await backend.deleteResult('dj-5')).toBe(true);
      expect(await backend.getStored('dj-5')).toBeUndefined();
    });
  });
}
