/**
 * Chords on the SQL result backend: a counter row as django-celery-results' ChordCounter (§4.5),
 * decremented in a transaction by each finished header task; the last one sends the body.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { sql } from 'kysely';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { Celeriac, chord } from '../../src/index.ts';
import type { SqlBackend } from '../../src/backends/sql/sql-backend.ts';
import { describeWith, SERVICES, uniqueName } from '../helpers/services.ts';
import { startWorker, stopAll } from '../worker/helpers.ts';

const dir = mkdtempSync(join(tmpdir(), 'celeriac-chord-sql-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function suite(label: string, url: () => string) {
  describe(`chord on the SQL backend (${label})`, () => {
    const apps: Celeriac[] = [];
    afterEach(async () => {
      await stopAll();
      await Promise.all(apps.splice(0).map((a) => a.close()));
    });

    async function setup() {
      const app = new Celeriac({ broker: `memory://${uniqueName('chord-sql')}`, backend: url() });
      apps.push(app);
      const add = app.task('cs.add', async (x: number, y: number) => {
        await new Promise((r) => setTimeout(r, Math.max(0, 30 - x * 3)));
        return x + y;
      });
      const collect = app.task('cs.collect', (...args: unknown[]) => args[0]);
      const fail = app.task('cs.fail', () => {
        throw new RangeError('nope');
      });
      await startWorker(app, { concurrency: 8 });
      return { app, add, collect, fail };
    }

    it('sends the body once with the results in header order and removes the counter row', async () => {
      const { app, add, collect } = await setup();
      const header = Array.from({ length: 8 }, (_, i) => add.s(i, 1));
      const result = await chord(header, collect.s()).applyAsync();
      expect(await result.get({ timeout: 10_000 })).toEqual(header.map((_, i) => i + 1));
      const backend = (await app.backend()) as SqlBackend;
      const db = (backend as unknown as { db: import('kysely').Kysely<never> }).db;
      const { rows } = await sql<{
        n: number;
      }>`select count(*) as n from celeriac_chord_counter where group_id = ${result.parent.id}`.execute(db);
      expect(Number(rows[0]!.n)).toBe(0);
    });

    it('fails the body with a ChordError when a header task fails', async () => {
      const { add, collect, fail } = await setup();
      const result = await chord([add.s(1, 1), fail.s()], collect.s()).applyAsync();
      await expect(result.get({ timeout: 10_000 })).rejects.toMatchObject({
        excType: 'ChordError',
        excMessage: [`Dependency ${result.parent.results[1]!.id} raised ValueError('nope')`],
      });
    });
  });
}

suite('sqlite', () => `sqlite://${join(dir, 'chords.db')}`);
await describeWith(['postgres'], 'chord on PostgreSQL', () =>
  suite('postgresql', () => SERVICES.postgres.url),
);
await describeWith(['mysql'], 'chord on MariaDB', () => suite('mariadb', () => SERVICES.mysql.url));
