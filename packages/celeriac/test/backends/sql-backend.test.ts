import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { SqlBackend } from '../../src/backends/sql/sql-backend.ts';
import { ResultEncodeError } from '../../src/backends/errors.ts';
import { silentLogger } from '../../src/util/logger.ts';
import { uuid } from '../../src/util/ids.ts';
import { runBackendConformance } from '../backend-conformance.ts';
import { describeWith, SERVICES } from '../helpers/services.ts';

const dir = mkdtempSync(join(tmpdir(), 'celeriac-sql-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function make(url: string, resultExpiresMs: number | null = 60_000): SqlBackend {
  return new SqlBackend(url, {
    logger: silentLogger,
    resultExpiresMs,
    oid: 'unused',
    getBrokerTransport: () => Promise.reject(new Error('SQL backends do not use the broker')),
  });
}

const sqliteUrl = `sqlite://${join(dir, 'results.db')}`;
// Polling databases wake within one poll interval; PostgreSQL wakes on NOTIFY.
runBackendConformance('sql (sqlite)', () => make(sqliteUrl), { wakeWithinMs: 150 });

await describeWith(['postgres'], 'sql result backend on PostgreSQL', () => {
  runBackendConformance('sql (postgresql)', () => make(SERVICES.postgres.url));
});

await describeWith(['mysql'], 'sql result backend on MariaDB', () => {
  runBackendConformance('sql (mysql)', () => make(SERVICES.mysql.url), { wakeWithinMs: 150 });
});

describe('sql result backend specifics (sqlite)', () => {
  it('keeps SUCCESS sticky, stores extended fields and deletes expired rows', async () => {
    const backend = make(`sqlite://${join(dir, 'specifics.db')}`);
    await backend.connect();
    try {
      const id = uuid();
      const base = { task_id: id, traceback: null, children: [], date_done: null };
      await backend.store(
        {
          ...base,
          status: 'SUCCESS',
          result: 4,
          name: 'tasks.add',
          args: [2, 2],
          kwargs: {},
          worker: 'celery@w',
          retries: 1,
          queue: 'celery',
        },
        {},
      );
      await backend.store(
        { ...base, status: 'FAILURE', result: { exc_type: 'X', exc_message: [], exc_module: 'm' } },
        {},
      );
      const meta = await backend.get(id);
      expect(meta).toMatchObject({
        status: 'SUCCESS',
        result: 4,
        name: 'tasks.add',
        args: [2, 2],
        worker: 'celery@w',
        retries: 1,
      });
      expect(meta.date_done).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}$/);

      const old = uuid();
      await backend.store({ ...base, task_id: old, status: 'SUCCESS', result: 1 }, { expiresSeconds: 1 });
      expect(await backend.deleteExpired(Date.now() + 2000)).toBeGreaterThanOrEqual(1);
      expect((await backend.get(old)).status).toBe('PENDING');
      expect((await backend.get(id)).status).toBe('SUCCESS');

      const circular: Record<string, unknown> = {};
      circular.self = circular;
      await expect(
        backend.store({ ...base, task_id: uuid(), status: 'SUCCESS', result: circular }, {}),
      ).rejects.toBeInstanceOf(ResultEncodeError);
    } finally {
      await backend.close();
    }
  });

  it('names the URL without its password when the database is unreachable', async () => {
    const backend = make('postgresql://celeriac:s3cret@127.0.0.1:1/none');
    const error = await backend.connect().then(
      () => null,
      (e: Error) => e,
    );
    expect(error).toBeInstanceOf(Error);
    expect(backend.safeUrl).toBe('postgresql://celeriac:**@127.0.0.1:1/none');
    expect(String(error?.message)).not.toContain('s3cret');
  });
});
