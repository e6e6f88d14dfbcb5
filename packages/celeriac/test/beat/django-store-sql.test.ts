import { Kysely, sql } from 'kysely';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { connectSql } from '../../src/beat/stores/sql/sql-connect.ts';
import { DjangoScheduleStore } from '../../src/beat/stores/django/django-schedule-store.ts';
import { describeWith, SERVICES, uniqueName, type ServiceName } from '../helpers/services.ts';

/**
 * django-celery-beat 2.4's tables as Django 3.2's migrations make them on PostgreSQL and MySQL
 * (booleans, timestamptz / datetime(6), numeric(9,6), serial / auto_increment ids). Debian has no
 * psycopg2 or mysqlclient here, so Django cannot run against them: the SQLite test checks what
 * Django's ORM reads; this one checks the dialect-specific writes (RETURNING or insertId, booleans,
 * decimals and times compared as values) against the real databases.
 */
const DDL = {
  postgres: (fk: (t: string) => string) => [
    'CREATE TABLE django_celery_beat_intervalschedule (id serial PRIMARY KEY, every integer NOT NULL, period varchar(24) NOT NULL)',
    `CREATE TABLE django_celery_beat_crontabschedule (id serial PRIMARY KEY, minute varchar(240) NOT NULL,
      hour varchar(96) NOT NULL, day_of_week varchar(64) NOT NULL, day_of_month varchar(124) NOT NULL,
      month_of_year varchar(64) NOT NULL, timezone varchar(63) NOT NULL)`,
    `CREATE TABLE django_celery_beat_solarschedule (id serial PRIMARY KEY, event varchar(24) NOT NULL,
      latitude numeric(9, 6) NOT NULL, longitude numeric(9, 6) NOT NULL, UNIQUE (event, latitude, longitude))`,
    'CREATE TABLE django_celery_beat_clockedschedule (id serial PRIMARY KEY, clocked_time timestamptz NOT NULL)',
    'CREATE TABLE django_celery_beat_periodictasks (ident smallint PRIMARY KEY, last_update timestamptz NOT NULL)',
    `CREATE TABLE django_celery_beat_periodictask (id serial PRIMARY KEY, name varchar(200) NOT NULL UNIQUE,
      task varchar(200) NOT NULL, args text NOT NULL, kwargs text NOT NULL, queue varchar(200) NULL,
      exchange varchar(200) NULL, routing_key varchar(200) NULL, headers text NOT NULL,
      priority integer NULL CHECK (priority >= 0), expires timestamptz NULL,
      expire_seconds integer NULL CHECK (expire_seconds >= 0), one_off boolean NOT NULL,
      start_time timestamptz NULL, enabled boolean NOT NULL, last_run_at timestamptz NULL,
      total_run_count integer NOT NULL CHECK (total_run_count >= 0), date_changed timestamptz NOT NULL,
      description text NOT NULL, ${fk('interval')}, ${fk('crontab')}, ${fk('solar')}, ${fk('clocked')})`,
  ],
  mysql: (fk: (t: string) => string) => [
    'CREATE TABLE django_celery_beat_intervalschedule (id integer AUTO_INCREMENT PRIMARY KEY, every integer NOT NULL, period varchar(24) NOT NULL)',
    `CREATE TABLE django_celery_beat_crontabschedule (id integer AUTO_INCREMENT PRIMARY KEY, minute varchar(240) NOT NULL,
      hour varchar(96) NOT NULL, day_of_week varchar(64) NOT NULL, day_of_month varchar(124) NOT NULL,
      month_of_year varchar(64) NOT NULL, timezone varchar(63) NOT NULL)`,
    `CREATE TABLE django_celery_beat_solarschedule (id integer AUTO_INCREMENT PRIMARY KEY, event varchar(24) NOT NULL,
      latitude numeric(9, 6) NOT NULL, longitude numeric(9, 6) NOT NULL, UNIQUE (event, latitude, longitude))`,
    'CREATE TABLE django_celery_beat_clockedschedule (id integer AUTO_INCREMENT PRIMARY KEY, clocked_time datetime(6) NOT NULL)',
    'CREATE TABLE django_celery_beat_periodictasks (ident smallint PRIMARY KEY, last_update datetime(6) NOT NULL)',
    `CREATE TABLE django_celery_beat_periodictask (id integer AUTO_INCREMENT PRIMARY KEY, name varchar(200) NOT NULL UNIQUE,
      task varchar(200) NOT NULL, args longtext NOT NULL, kwargs longtext NOT NULL, queue varchar(200) NULL,
      exchange varchar(200) NULL, routing_key varchar(200) NULL, headers longtext NOT NULL,
      priority integer UNSIGNED NULL, expires datetime(6) NULL, expire_seconds integer UNSIGNED NULL,
      one_off bool NOT NULL, start_time datetime(6) NULL, enabled bool NOT NULL, last_run_at datetime(6) NULL,
      total_run_count integer UNSIGNED NOT NULL, date_changed datetime(6) NOT NULL, description longtext NOT NULL,
      ${fk('interval')}, ${fk('crontab')}, ${fk('solar')}, ${fk('clocked')})`,
  ],
};

const DATABASES: Array<{ title: string; service: ServiceName; dialect: 'postgres' | 'mysql' }> = [
  { title: 'PostgreSQL', service: 'postgres', dialect: 'postgres' },
  { title: 'MariaDB', service: 'mysql', dialect: 'mysql' },
];

for (const { title, service, dialect } of DATABASES) {
  await describeWith([service], `DjangoScheduleStore edits on ${title} (Django's column types)`, () => {
    const space = uniqueName('djbeat').replace(/-/g, '_');
    let admin: Kysely<unknown>;
    let store: DjangoScheduleStore;
    /** A row as the database returns it, for the few columns checked here. */
    let rows: (table: string, orderBy?: string) => Promise<Array<Record<string, unknown>>>;

    beforeAll(async () => {
      admin = (await connectSql<unknown>(SERVICES[service].url)).db;
      let url: string;
      if (dialect === 'postgres') {
        await sql`CREATE SCHEMA ${sql.id(space)}`.execute(admin);
        url = `${SERVICES.postgres.url}?options=${encodeURIComponent(`-c search_path=${space}`)}`;
      } else {
        await sql`CREATE DATABASE ${sql.id(space)}`.execute(admin);
        url = SERVICES.mysql.url.replace(/\/[^/]*$/, `/${space}`);
      }
      const fk = (t: string) =>
        `${t}_id integer NULL REFERENCES django_celery_beat_${t}schedule (id) ON DELETE CASCADE`;
      const conn = await connectSql<unknown>(url);
      for (const statement of DDL[dialect](fk)) await sql.raw(statement).execute(conn.db);
      rows = async (table, orderBy = 'id') =>
        (
          await sql
            .raw<Record<string, unknown>>(`SELECT * FROM ${table} ORDER BY ${orderBy}`)
            .execute(conn.db)
        ).rows;
      store = new DjangoScheduleStore({ url });
      afterAll(() => conn.db.destroy());
    }, 30_000);

    afterAll(async () => {
      await store?.close();
      if (dialect === 'postgres') await sql`DROP SCHEMA ${sql.id(space)} CASCADE`.execute(admin);
      else await sql`DROP DATABASE ${sql.id(space)}`.execute(admin);
      await admin.destroy();
    });

    it('writes each kind of schedule, reusing equal rows (decimals and times compared as values)', async () => {
      const cron = { crontab: { minute: '30', hour: '7', dayOfWeek: 'mon', timezone: 'Europe/Berlin' } };
      const solar = { solar: 'sunset' as const, latitude: 40.7128, longitude: -74.006 };
      await store.upsert('a-interval', { task: 't.a', schedule: '90s', args: [1], kwargs: { k: 'v' } });
      await store.upsert('b-crontab', { task: 't.b', schedule: cron, queue: 'q', priority: 3 });
      await store.upsert('c-crontab', { task: 't.c', schedule: cron, enabled: false });
      await store.upsert('d-solar', { task: 't.d', schedule: solar });
      await store.upsert('e-solar', { task: 't.e', schedule: solar });
      await store.upsert('f-clocked', { task: 't.f', schedule: { clocked: '2030-01-01T09:00:00Z' } });
      await store.upsert('g-clocked', { task: 't.g', schedule: { clocked: '2030-01-01T09:00:00Z' } });

      expect(await rows('django_celery_beat_intervalschedule')).toMatchObject([
        { every: 90, period: 'seconds' },
      ]);
      expect(await rows('django_celery_beat_crontabschedule')).toHaveLength(1);
      expect(await rows('django_celery_beat_solarschedule')).toMatchObject([{ event: 'sunset' }]);
      expect(await rows('django_celery_beat_clockedschedule')).toHaveLength(1);
      const tasks = await rows('django_celery_beat_periodictask');
      const byName = Object.fromEntries(tasks.map((t) => [t.name as string, t]));
      expect(byName['b-crontab']!.crontab_id).toBe(byName['c-crontab']!.crontab_id);
      expect(byName['d-solar']!.solar_id).toBe(byName['e-solar']!.solar_id);
      expect(byName['f-clocked']!.clocked_id).toBe(byName['g-clocked']!.clocked_id);
      expect(Boolean(byName['c-crontab']!.enabled)).toBe(false);
      expect(Boolean(byName['f-clocked']!.one_off)).toBe(true);
      expect(byName['b-crontab']).toMatchObject({ queue: 'q', priority: 3, headers: '{}', description: '' });
      // The row Django's beat watches: one, moved by the writes.
      const changed = await rows('django_celery_beat_periodictasks', 'ident');
      expect(changed).toHaveLength(1);
      expect(changed[0]!.ident).toBe(1);
      expect(Date.now() - (changed[0]!.last_update as Date).getTime()).toBeLessThan(60_000);

      const loaded = Object.fromEntries((await store.load()).map((s) => [s.entry.name, s.entry]));
      expect(Object.keys(loaded).sort()).toEqual(Object.keys(byName).sort());
      expect(String(loaded['a-interval']!.schedule)).toBe('every 90s');
      expect(loaded['a-interval']!.kwargs).toEqual({ k: 'v' });
      expect(String(loaded['b-crontab']!.schedule)).toBe('crontab 30 7 * * mon (Europe/Berlin)');
      expect(String(loaded['d-solar']!.schedule)).toBe('solar sunset (40.7128, -74.006)');
      expect(loaded['c-crontab']!.enabled).toBe(false);
      expect(loaded['g-clocked']!.oneOff).toBe(true);
    });

    it('disables (clearing last_run_at), enables and removes', async () => {
      await store.saveState('a-interval', {
        totalRunCount: 2,
        lastRunAtMs: Date.parse('2026-11-23T10:00:00Z'),
      });
      await store.setEnabled('a-interval', false);
      let [entry] = (await store.load()).filter((s) => s.entry.name === 'a-interval');
      expect(entry!.entry.enabled).toBe(false);
      expect(entry!.state).toEqual({ totalRunCount: 2, lastRunAtMs: undefined });
      await store.setEnabled('a-interval', true);
      [entry] = (await store.load()).filter((s) => s.entry.name === 'a-interval');
      expect(entry!.entry.enabled).toBe(true);
      await store.remove('a-interval');
      expect((await store.load()).some((s) => s.entry.name === 'a-interval')).toBe(false);
      expect(await rows('django_celery_beat_intervalschedule')).toHaveLength(1);
    });
  });
}
