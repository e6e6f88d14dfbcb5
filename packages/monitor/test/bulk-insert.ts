import Database from 'better-sqlite3';
import pg from 'pg';

export type BulkValue = string | number | null;

/** Where rows go: an SQLite file, or a PostgreSQL URL plus the schema the table lives in. */
export type BulkTarget = { sqlite: string } | { postgres: string; schema?: string };

/**
 * Inserts many rows fast, for seeding tests and benchmarks: SQLite through one prepared statement
 * in transactions of 50,000 rows (better-sqlite3 is synchronous, so this is its fastest path);
 * PostgreSQL through `INSERT … SELECT FROM unnest($1::type[], …)`, 10,000 rows per statement
 * (a handful of array parameters instead of tens of thousands of scalars).
 */
export async function bulkInsert(
  target: BulkTarget,
  table: string,
  columns: ReadonlyArray<readonly [name: string, pgType: 'text' | 'float8' | 'int8' | 'int4']>,
  count: number,
  row: (i: number) => BulkValue[],
  onProgress?: (done: number) => void,
): Promise<void> {
  if ('sqlite' in target) {
    const db = new Database(target.sqlite);
    try {
      db.pragma('journal_mode = WAL');
      db.pragma('synchronous = NORMAL');
      const insert = db.prepare(
        `insert into "${table}" (${columns.map(([c]) => `"${c}"`).join(', ')}) values (${columns.map(() => '?').join(', ')})`,
      );
      const chunk = db.transaction((from: number, to: number) => {
        for (let i = from; i < to; i++) insert.run(row(i));
      });
      for (let from = 0; from < count; from += 50_000) {
        chunk(from, Math.min(count, from + 50_000));
        onProgress?.(Math.min(count, from + 50_000));
        await new Promise((resolve) => setImmediate(resolve));
      }
    } finally {
      db.close();
    }
    return;
  }
  const client = new pg.Client({ connectionString: target.postgres });
  await client.connect();
  try {
    const qualified = target.schema ? `"${target.schema}"."${table}"` : `"${table}"`;
    const text =
      `insert into ${qualified} (${columns.map(([c]) => `"${c}"`).join(', ')}) ` +
      `select * from unnest(${columns.map(([, type], i) => `$${i + 1}::${type}[]`).join(', ')})`;
    for (let from = 0; from < count; from += 10_000) {
      const to = Math.min(count, from + 10_000);
      const arrays: BulkValue[][] = columns.map(() => []);
      for (let i = from; i < to; i++) {
        const values = row(i);
        for (let c = 0; c < columns.length; c++) arrays[c]!.push(values[c] ?? null);
      }
      await client.query(text, arrays);
      if (to % 50_000 === 0 || to === count) onProgress?.(to);
    }
    // Statistics and the visibility map, as autovacuum would leave them soon after a load: without
    // them the planner guesses and index-only scans visit the table.
    await client.query(`vacuum analyze ${qualified}`);
  } finally {
    await client.end();
  }
}
