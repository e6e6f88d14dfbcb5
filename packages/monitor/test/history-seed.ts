import { openHistoryDatabase, sqlitePath, type HistoryConnection } from '../src/history/history-database.ts';
import { ensureHistorySchema, HISTORY_INDEXES, HISTORY_TABLE } from '../src/history/history-schema.ts';
import { bulkInsert, type BulkTarget } from './bulk-insert.ts';
import { newTask, type TaskRecord } from '../src/state/task-state.ts';

export const SEED_STATES = [
  'SUCCESS',
  'SUCCESS',
  'SUCCESS',
  'FAILURE',
  'STARTED',
  'RECEIVED',
  'RETRY',
] as const;
export const SEED_NAMES = ['tasks.add', 'tasks.mail', 'tasks.resize', 'tasks.report', 'tasks.rare'] as const;

/**
 * The i-th seeded task, deterministic so tests can compute what a filter must return: one task a
 * second of history, newest last; `tasks.rare` is 1 in 1,000; args hold `order-<i>`.
 */
export function seededTask(i: number, newestAt: number, n: number): TaskRecord {
  const at = newestAt - (n - 1 - i);
  const task = newTask(
    `${i.toString(16).padStart(8, '0')}-5eed-4000-8000-${String(i).padStart(12, '0')}`,
    at,
  );
  task.name = i % 1000 === 999 ? 'tasks.rare' : SEED_NAMES[i % 4]!;
  task.state = SEED_STATES[i % SEED_STATES.length]!;
  task.worker = `celery@w${i % 8}`;
  task.received = at - 0.5;
  task.started = at - 0.4;
  task.args = `('order-${i}', ${i % 97})`;
  task.kwargs = i % 10 === 0 ? "{'priority': 'high'}" : '{}';
  task.result = task.state === 'SUCCESS' ? String(i * 2) : null;
  task.runtime = 0.1;
  task.timeline = [{ type: 'task-received', timestamp: at - 0.5, hostname: task.worker }];
  return task;
}

/**
 * Writes `n` seeded tasks straight into a history table (bulk-insert.ts: prepared statements in
 * SQLite, `unnest` arrays in PostgreSQL). Returns rows/s.
 */
export async function seedHistory(
  url: string,
  n: number,
  options: { schema?: string; newestAt?: number; onProgress?: (done: number) => void } = {},
): Promise<{ rowsPerSecond: number; newestAt: number }> {
  const newestAt = options.newestAt ?? Math.floor(Date.now() / 1000);
  const conn: HistoryConnection = await openHistoryDatabase(url, options.schema);
  try {
    await ensureHistorySchema(conn);
    // Indexes built once after the load are far cheaper than updated row by row during it.
    for (const [suffix] of HISTORY_INDEXES)
      await conn.db.schema.dropIndex(`${HISTORY_TABLE}_${suffix}_k`).ifExists().execute();
  } finally {
    await conn.db.destroy();
  }
  const target: BulkTarget =
    conn.dialect === 'sqlite'
      ? { sqlite: sqlitePath(url) }
      : { postgres: url, ...(options.schema && { schema: options.schema }) };
  const started = performance.now();
  await bulkInsert(
    target,
    HISTORY_TABLE,
    [
      ['uuid', 'text'],
      ['name', 'text'],
      ['state', 'text'],
      ['worker', 'text'],
      ['timestamp', 'float8'],
      ['received', 'float8'],
      ['search_text', 'text'],
      ['data', 'text'],
    ],
    n,
    (i) => {
      const t = seededTask(i, newestAt, n);
      return [
        t.uuid,
        t.name,
        t.state,
        t.worker,
        t.timestamp,
        t.received,
        `${t.name}\n${t.args}\n${t.kwargs}`.toLowerCase(),
        JSON.stringify(t),
      ];
    },
    options.onProgress,
  );
  const again = await openHistoryDatabase(url, options.schema);
  try {
    await ensureHistorySchema(again);
  } finally {
    await again.db.destroy();
  }
  return { rowsPerSecond: n / ((performance.now() - started) / 1000), newestAt };
}
