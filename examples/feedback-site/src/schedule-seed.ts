import type { BeatEntryDefinition, SqlScheduleStore } from 'celeriac';

/** Remembers, per entry name, the code's definition as last written to the store. */
const SEEDED_TABLE = 'feedback_site_seeded_entry';
type SeededDb = { [SEEDED_TABLE]: { name: string; definition: string } };

/** What happened to each code-defined entry. */
export type SeedOutcome =
  /** New in the code (or the store was empty): written. */
  | 'added'
  /** The code's definition changed since it was last written: the code's version replaced the row. */
  | 'updated'
  /** Unchanged in the code: the row stays as it is, with any edit made in the monitor (or its removal). */
  | 'kept';

/**
 * Writes the code's `beatSchedule` into the SQL schedule store that beat reads and the monitor's
 * Periodic tasks page edits, without undoing edits made there.
 *
 * django-celery-beat rewrites every `CELERY_BEAT_SCHEDULE` entry at each start, so a change made
 * in the admin panel to one of them is lost on restart. Here the code's definition is written
 * only when it is new or differs from the one written last time (a deliberate change in the code
 * wins); otherwise the row is left as the monitor left it: edited, disabled or deleted.
 */
export async function seedCodeSchedule(
  store: SqlScheduleStore,
  schedule: Readonly<Record<string, BeatEntryDefinition>>,
): Promise<Map<string, SeedOutcome>> {
  const { db: beatDb } = await store.connect();
  const db = beatDb.withTables<SeededDb>();
  await db.schema
    .createTable(SEEDED_TABLE)
    .ifNotExists()
    .addColumn('name', 'varchar(200)', (c) => c.primaryKey())
    .addColumn('definition', 'text', (c) => c.notNull())
    .execute();
  const outcomes = new Map<string, SeedOutcome>();
  for (const [name, definition] of Object.entries(schedule)) {
    // The definition as written in the code (schedule objects serialise through their toJSON);
    // the store's upsert validates it before anything is written.
    const canonical = JSON.stringify(definition);
    const seeded = await db
      .selectFrom(SEEDED_TABLE)
      .select('definition')
      .where('name', '=', name)
      .executeTakeFirst();
    if (seeded?.definition === canonical) {
      outcomes.set(name, 'kept');
      continue;
    }
    if (seeded === undefined) {
      // First start with this entry, or a store written before this table existed: add it if missing.
      const existing = await store.load();
      if (!existing.some((e) => e.entry.name === name)) {
        await store.upsert(name, definition);
        outcomes.set(name, 'added');
      } else outcomes.set(name, 'kept');
    } else {
      await store.upsert(name, definition);
      outcomes.set(name, 'updated');
    }
    await db.transaction().execute(async (tx) => {
      await tx.deleteFrom(SEEDED_TABLE).where('name', '=', name).execute();
      await tx.insertInto(SEEDED_TABLE).values({ name, definition: canonical }).execute();
    });
  }
  return outcomes;
}
