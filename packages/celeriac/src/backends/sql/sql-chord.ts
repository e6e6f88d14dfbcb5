import { sql, type Kysely } from 'kysely';
import type { ResultMeta } from '../../result/meta.ts';
import type { ChordCounter, ChordPart } from '../chord-backend.ts';
import type { SqlDialectName } from './sql-connection.ts';

/** django-celery-results' `ChordCounter` table (§4.5); ours has the same columns. */
export const DJANGO_CHORD_TABLE = 'django_celery_results_chordcounter';
export const CELERIAC_CHORD_TABLE = 'celeriac_chord_counter';

export interface SqlChordTarget {
  db: Kysely<never>;
  dialect: SqlDialectName;
  /** `django_celery_results_chordcounter` with the Django layout, else `celeriac_chord_counter`. */
  table: string;
}

/**
 * A chord counter in SQL, as django-celery-results keeps it (django_celery_results/backends/database.py
 * `apply_chord`, `on_chord_part_return`): one row per chord with the header's result tuples and a
 * `count` that starts at the header size; each finished part decrements it in a transaction, and
 * the one that reaches 0 deletes the row and reads every part's stored result, in header order.
 * With the Django layout, a Python worker on django-celery-results counts the same rows.
 */
export class SqlChordCounter implements ChordCounter {
  private ensured: Promise<void> | undefined;

  constructor(
    private readonly target: () => SqlChordTarget,
    private readonly readResult: (taskId: string) => Promise<ResultMeta>,
  ) {}

  async setChordSize(groupId: string, size: number, headerIds: readonly string[] = []): Promise<void> {
    if (headerIds.length !== size) {
      throw new RangeError(
        `the SQL chord counter needs the ${size} header task ids, got ${headerIds.length}`,
      );
    }
    const { db, table } = await this.ready();
    // `GroupResult.as_tuple()` children: `[[id, null], null]` each.
    const subTasks = JSON.stringify(headerIds.map((id) => [[id, null], null]));
    await sql`insert into ${sql.table(table)} (group_id, sub_tasks, count) values (${groupId}, ${subTasks}, ${size})`.execute(
      db,
    );
  }

  async addPart(part: ChordPart): Promise<ChordPart[] | undefined> {
    const { db, table } = await this.ready();
    const t = sql.table(table);
    const subTasks = await db.transaction().execute(async (trx) => {
      // The UPDATE locks the row (SQLite: the database) until commit, so exactly one part reads 0.
      await sql`update ${t} set count = count - 1 where group_id = ${part.groupId}`.execute(trx);
      const { rows } = await sql<{
        count: number | string;
        sub_tasks: string;
      }>`select count, sub_tasks from ${t} where group_id = ${part.groupId}`.execute(trx);
      const row = rows[0];
      if (!row || Number(row.count) !== 0) return undefined;
      await sql`delete from ${t} where group_id = ${part.groupId}`.execute(trx);
      return row.sub_tasks;
    });
    if (subTasks === undefined) return undefined;
    const ids = (JSON.parse(subTasks) as Array<[[string, unknown], unknown]>).map((tuple) => tuple[0][0]);
    const metas = await Promise.all(
      ids.map((id) => (id === part.taskId ? ownMeta(part) : this.readResult(id))),
    );
    return metas.map((meta, index) => ({
      groupId: part.groupId,
      taskId: meta.task_id,
      state: meta.status,
      result: meta.result,
      groupIndex: index,
    }));
  }

  /** The row is already gone when the last part read 0. */
  async release(): Promise<void> {}

  private async ready(): Promise<SqlChordTarget> {
    const target = this.target();
    // Django's table belongs to `manage.py migrate`; ours is created on first use.
    if (target.table === CELERIAC_CHORD_TABLE) {
      this.ensured ??= createTable(target)
        .then(() => undefined)
        .catch((error: unknown) => {
          this.ensured = undefined;
          throw error;
        });
      await this.ensured;
    }
    return target;
  }
}

function ownMeta(part: ChordPart): ResultMeta {
  return {
    task_id: part.taskId,
    status: part.state as ResultMeta['status'],
    result: part.result,
    traceback: null,
    children: [],
    date_done: null,
  };
}

function createTable({ db, dialect, table }: SqlChordTarget): Promise<unknown> {
  const id =
    dialect === 'postgres'
      ? sql`id serial primary key`
      : dialect === 'mysql'
        ? sql`id integer auto_increment primary key`
        : sql`id integer primary key autoincrement`;
  return sql`create table if not exists ${sql.table(table)} (${id}, group_id varchar(255) not null unique, sub_tasks text not null, count integer not null)`.execute(
    db,
  );
}
