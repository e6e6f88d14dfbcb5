import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Kysely } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Celeriac } from '../../src/app/celeriac.ts';
import { Beat } from '../../src/beat/beat.ts';
import { SqlScheduleStore } from '../../src/beat/stores/sql/sql-schedule-store.ts';
import { dropBeatTables } from '../../src/beat/stores/sql/sql-schema.ts';
import { describeWith, SERVICES, uniqueName, type ServiceName } from '../helpers/services.ts';
import { fakeBeat } from './fake-beat.ts';
import { leaseConformance } from './lease-conformance.ts';

const dir = mkdtempSync(join(tmpdir(), 'celeriac-beat-sql-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const DATABASES: Array<{ title: string; services: ServiceName[]; url: string; realTime: boolean }> = [
  { title: 'SQLite file', services: [], url: `sqlite://${join(dir, 'beat.db')}`, realTime: true },
  { title: 'PostgreSQL', services: ['postgres'], url: SERVICES.postgres.url, realTime: true },
  { title: 'MySQL/MariaDB', services: ['mysql'], url: SERVICES.mysql.url, realTime: false },
];

for (const { title, services, url, realTime } of DATABASES) {
  await describeWith(services, `SQL schedule store on ${title}`, () => {
    const prefix = uniqueName('cb').replace(/-/g, '_');
    const stores: SqlScheduleStore[] = [];
    const open = (options: Partial<ConstructorParameters<typeof SqlScheduleStore>[0]> = {}) => {
      const s = new SqlScheduleStore({ url, tablePrefix: prefix, ...options });
      stores.push(s);
      return s;
    };
    let admin: SqlScheduleStore;

    beforeAll(async () => {
      admin = new SqlScheduleStore({ url, tablePrefix: prefix });
      await admin.connect();
    });
    afterAll(async () => {
      for (const s of stores) await s.close().catch(() => undefined);
      const { db } = await admin.connect();
      await dropBeatTables(db as Kysely<unknown>, admin.tables);
      await admin.close();
    });

    leaseConformance(async (leaseMs) => {
      const name = uniqueName('lease');
      return [open().lease({ leaseMs, name }), open().lease({ leaseMs, name })];
    });

    it('runs entries from the tables, keeps run state there, and picks up edits on reload', async () => {
      await admin.upsert('add', {
        task: 'tasks.add',
        schedule: { every: '5s' },
        args: [14, 15],
        queue: 'periodic',
      });
      await admin.upsert('nightly', {
        task: 'report',
        schedule: { crontab: '0 3 * * *' },
        kwargs: { full: true },
      });
      const store = open();
      const b = fakeBeat({}, { store, lease: store.lease({ name: uniqueName('l') }) });
      await b.at('2024-05-01T10:00:00Z');
      await b.at('2024-05-01T10:00:05Z');
      expect(b.sent.map((s) => [s.task, s.args, s.options.queue])).toEqual([
        ['tasks.add', [14, 15], 'periodic'],
      ]);
      const { db } = await admin.connect();
      const row = await db
        .selectFrom(admin.tables.entry as 'beat_entry')
        .selectAll()
        .where('name', '=', 'add')
        .executeTakeFirstOrThrow();
      expect([Number(row.last_run_at), Number(row.total_run_count)]).toEqual([
        Date.parse('2024-05-01T10:00:05Z'),
        1,
      ]);

      // Edits while beat runs: new args, a new entry, one disabled, one removed.
      await admin.upsert('add', {
        task: 'tasks.add',
        schedule: { every: '5s' },
        args: [1, 2],
        queue: 'periodic',
      });
      await admin.upsert('fast', { task: 'fast', schedule: { every: '1s' } });
      await admin.setEnabled('nightly', false);
      await b.at('2024-05-01T10:00:10Z'); // reload is due (5 s): edits are in
      await b.at('2024-05-01T10:00:11Z');
      expect(b.sent.slice(1).map((s) => [s.task, s.args, s.at])).toEqual([
        ['tasks.add', [1, 2], '2024-05-01T10:00:10.000Z'],
        ['fast', [], '2024-05-01T10:00:11.000Z'],
      ]);
      expect((await b.beat.listEntries(1)).map((e) => [e.name, e.enabled])).toEqual([
        ['add', true],
        ['fast', true],
        ['nightly', false],
      ]);
      await admin.remove('fast');
      await b.at('2024-05-01T10:00:16Z');
      expect((await b.beat.listEntries(1)).map((e) => e.name)).toEqual(['add', 'nightly']);
      await b.close();
      await admin.remove('add');
      await admin.remove('nightly');
    });

    it('a bad row is skipped with an error naming it; the others run', async () => {
      const { db } = await admin.connect();
      await admin.upsert('good', { task: 'good', schedule: { every: '1s' } });
      await db
        .insertInto(admin.tables.entry as 'beat_entry')
        .values({
          name: 'bad-cron',
          task: 't',
          schedule: JSON.stringify({ crontab: '0 25 * * *' }),
          args: '[]',
          kwargs: '{}',
          options: '{}',
          one_off: 0,
          enabled: 1,
          start_time: null,
          expires_at: null,
          expire_seconds: null,
          last_run_at: null,
          last_slot: null,
          total_run_count: 0,
          updated_at: 0,
        })
        .execute();
      await db
        .insertInto(admin.tables.entry as 'beat_entry')
        .values({
          name: 'bad-json',
          task: 't',
          schedule: '{every',
          args: '[]',
          kwargs: '{}',
          options: '{}',
          updated_at: 0,
        } as never)
        .execute();
      const store = open();
      const b = fakeBeat({}, { store, lease: store.lease({ name: uniqueName('l') }) });
      await b.at('2024-05-01T10:00:00Z');
      await b.at('2024-05-01T10:00:01Z');
      expect(b.sent.map((s) => s.task)).toEqual(['good']);
      await b.close();
      const errors: string[] = [];
      const logged = open({ logger: { error: (o: { err: Error }) => errors.push(o.err.message) } as never });
      await logged.load();
      await logged.load();
      expect(errors).toHaveLength(2);
      expect(errors.join('\n')).toMatch(
        /beat entry "bad-cron": crontab hour "25": 25 is out of range \(allowed: 0-23/,
      );
      expect(errors.join('\n')).toMatch(/column schedule is not JSON/);
      for (const name of ['good', 'bad-cron', 'bad-json']) await admin.remove(name);
    });

    it('upsert rejects a bad entry before storing it', async () => {
      await expect(admin.upsert('x', { task: 't', schedule: { crontab: { minute: '99' } } })).rejects.toThrow(
        /crontab minute "99": 99 is out of range \(allowed: 0-59/,
      );
      const { db } = await admin.connect();
      const rows = await db
        .selectFrom(admin.tables.entry as 'beat_entry')
        .select('name')
        .where('name', '=', 'x')
        .execute();
      expect(rows).toEqual([]);
    });

    if (realTime) {
      it('an entry added while beat runs is sent within 5 s, without a restart', async () => {
        const app = new Celeriac({ broker: `memory://${uniqueName('sqlbeat')}` });
        const sent: number[] = [];
        app.sendTask = (async () => {
          sent.push(Date.now());
          return undefined;
        }) as never;
        const store = open();
        const beat = new Beat(app, { store, lease: store.lease({ name: uniqueName('l'), leaseMs: 3000 }) });
        await beat.start();
        try {
          await new Promise((r) => setTimeout(r, 300));
          const addedAt = Date.now();
          await admin.upsert('live', { task: 'live', schedule: { every: 200 } });
          while (sent.length === 0 && Date.now() - addedAt < 8000)
            await new Promise((r) => setTimeout(r, 50));
          const pickupMs = sent[0]! - addedAt;
          console.log(`${title}: entry added while beat runs, first send after ${pickupMs} ms`);
          expect(pickupMs).toBeLessThanOrEqual(5000 + 200 + 500);
        } finally {
          await beat.stop();
          await app.close();
          await admin.remove('live');
        }
      });
    }
  });
}

describe('SQL schedule store, database unreachable', () => {
  it('load fails with the cause; beat starts anyway, keeps retrying and says why', async () => {
    const store = new SqlScheduleStore({ url: 'postgresql://postgres@127.0.0.1:1/test' });
    await expect(store.load()).rejects.toThrow(/ECONNREFUSED|connect/);
    const b = fakeBeat({}, { store, retryMs: 1000 });
    await b.beat.start();
    await b.beat.stop();
    expect(b.logs.some((l) => /cannot read the schedule store; keeping the last schedule/.test(l.msg))).toBe(
      true,
    );
    await b.app.close();
  });

  it('an unknown URL scheme is a clear error', async () => {
    const store = new SqlScheduleStore({ url: 'oracle://x' });
    await expect(store.load()).rejects.toThrow(/unsupported schedule database URL "oracle:\/\/x"/);
  });
});
