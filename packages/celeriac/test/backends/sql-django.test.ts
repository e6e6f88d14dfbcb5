import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SqlBackend } from '../../src/backends/sql/sql-backend.ts';
import { silentLogger } from '../../src/util/logger.ts';
import { uuid } from '../../src/util/ids.ts';

const PYTHON = '/usr/bin/python3';
const script = join(import.meta.dirname, 'django_results.py');
const hasDjango =
  existsSync(PYTHON) &&
  (() => {
    try {
      execFileSync(PYTHON, ['-c', 'import django_celery_results'], { stdio: 'ignore' });
      return true;
    } catch {
      return false;
    }
  })();
if (!hasDjango && process.env.CI === 'true')
  throw new Error('CI needs /usr/bin/python3 with django_celery_results (python3-django-celery-results)');
if (!hasDjango)
  console.warn('skipping django-celery-results interop: /usr/bin/python3 has no django_celery_results');

const django = (...args: string[]) => execFileSync(PYTHON, [script, ...args], { encoding: 'utf8' });

describe.skipIf(!hasDjango)(
  'sql result backend in django-celery-results mode (read back through Django ORM)',
  () => {
    const dir = mkdtempSync(join(tmpdir(), 'celeriac-django-'));
    const dbPath = join(dir, 'django.sqlite3');
    let backend: SqlBackend;

    beforeAll(async () => {
      django('migrate', dbPath);
      backend = new SqlBackend(`sqlite://${dbPath}?celeriac_tables=django`, {
        logger: silentLogger,
        resultExpiresMs: 86_400_000,
        oid: 'unused',
        getBrokerTransport: () => Promise.reject(new Error('unused')),
      });
      await backend.connect();
    });
    afterAll(async () => {
      await backend?.close();
      rmSync(dir, { recursive: true, force: true });
    });

    it('writes a SUCCESS that Django reads with the fields its admin shows', async () => {
      const id = uuid();
      await backend.store(
        {
          task_id: id,
          status: 'SUCCESS',
          result: { sum: 4 },
          traceback: null,
          children: [],
          date_done: null,
          name: 'tasks.add',
          args: [2, 2],
          kwargs: {},
          worker: 'celery@node',
        },
        {},
      );
      const row = JSON.parse(django('read', dbPath, id));
      expect(row).toMatchObject({
        status: 'SUCCESS',
        result: { sum: 4 },
        task_name: 'tasks.add',
        task_args: '"(2, 2)"',
        worker: 'celery@node',
        content_type: 'application/json',
        meta: { children: [] },
      });
      expect(Date.now() - Date.parse(row.date_done)).toBeLessThan(60_000);
    });

    it('writes a FAILURE with the exception and traceback, and keeps SUCCESS sticky', async () => {
      const id = uuid();
      const exc = { exc_type: 'ValueError', exc_message: ['bad'], exc_module: 'builtins' };
      await backend.store(
        {
          task_id: id,
          status: 'FAILURE',
          result: exc,
          traceback: 'Error: bad\n    at x',
          children: [],
          date_done: null,
        },
        {},
      );
      expect(JSON.parse(django('read', dbPath, id))).toMatchObject({
        status: 'FAILURE',
        result: exc,
        traceback: 'Error: bad\n    at x',
      });
      await backend.store(
        { task_id: id, status: 'SUCCESS', result: 1, traceback: null, children: [], date_done: null },
        {},
      );
      await backend.store(
        { task_id: id, status: 'FAILURE', result: exc, traceback: null, children: [], date_done: null },
        {},
      );
      expect(JSON.parse(django('read', dbPath, id)).status).toBe('SUCCESS');
    });

    it('reads a result Django stored', async () => {
      const id = uuid();
      django('write', dbPath, id);
      const meta = await backend.get(id);
      expect(meta).toMatchObject({
        status: 'SUCCESS',
        result: { answer: 42 },
        name: 'py.tasks.answer',
        worker: 'celery@py',
      });
      expect(meta.date_done).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}$/);
      expect((await backend.waitReady(id, { timeoutMs: 1000 })).result).toEqual({ answer: 42 });
    });
  },
);
