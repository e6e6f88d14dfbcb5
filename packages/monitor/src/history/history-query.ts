import { sql, type Expression, type ExpressionBuilder, type SqlBool } from 'kysely';
import type { TaskPage, TaskQuery } from '../state/task-query.ts';
import type { TaskRecord } from '../state/task-state.ts';
import { decodeCursor, encodeCursor, type HistoryCursor } from './history-cursor.ts';
import type { HistoryConnection, HistoryDatabase } from './history-database.ts';

/** Counting stops here: "more than 10,000" is what a person needs, and a full COUNT(*) over a million rows is not free. */
export const COUNT_CAP = 10_000;
/** A substring search reads at most this many rows (newest first, after the other filters) per page. */
export const SEARCH_WINDOW = 100_000;
/** Sort keys the history can page over with an index; others are served from memory. */
export const HISTORY_SORTS = new Set(['timestamp', '-timestamp', 'received', '-received']);

/** No spaces, 4+ characters: could be the start of an id (Celery's are uuid4; custom ones are free-form). */
const MAYBE_ID = /^\S{4,255}$/;

type Eb = ExpressionBuilder<HistoryDatabase, 'celeriac_monitor_task'>;
type SortKey = 'timestamp' | 'received';

interface Row {
  uuid: string;
  key: number | null;
  data: string;
}

/**
 * One page of the task list from SQL, by keyset: `after` continues in sort order, `before` goes
 * back; without either, `offset` applies (Flower's API). Filters are index ranges (see
 * history-schema.ts); an id-like search is a prefix range on the uuid, any other search a
 * lower-cased substring match over at most `SEARCH_WINDOW` rows.
 */
export async function queryHistory(
  conn: HistoryConnection,
  query: TaskQuery,
  searchWindow: number = SEARCH_WINDOW,
): Promise<TaskPage> {
  const sortKey: SortKey = query.sort_by.endsWith('received') ? 'received' : 'timestamp';
  const descending = query.sort_by.startsWith('-');
  const backwards = query.before !== undefined;
  const cursorText = query.before ?? query.after;
  const cursor = cursorText === undefined ? undefined : decodeCursor(cursorText);
  const search = query.search;

  // An id prefix when some task id starts with it (an index probe), else a substring search.
  const mode: 'id' | 'text' | 'none' = !search
    ? 'none'
    : MAYBE_ID.test(search) && (await hasIdPrefix(conn, search))
      ? 'id'
      : 'text';
  const filters = (eb: Eb) => baseFilters(eb, query, mode === 'id' ? search : undefined);
  const rows =
    mode === 'text'
      ? await textSearchPage(
          conn,
          filters,
          search!,
          sortKey,
          descending,
          backwards,
          cursor,
          query,
          searchWindow,
        )
      : await plainPage(conn, filters, sortKey, descending, backwards, cursor, query);

  const page = rows.rows.slice(0, query.limit);
  const more = rows.rows.length > query.limit;
  if (backwards) page.reverse();
  const tasks = page.map(parseRow).filter((t): t is TaskRecord => t !== undefined);
  const first = page[0];
  const last = page[page.length - 1];
  const cursorOf = (row: Row | undefined) =>
    row && row.key !== null ? encodeCursor({ key: row.key, uuid: row.uuid }) : undefined;

  let next: string | undefined;
  let prev: string | undefined;
  if (backwards) {
    next = cursorOf(last) ?? query.before;
    if (more) prev = cursorOf(first);
  } else {
    if (more) next = cursorOf(last);
    else if (rows.windowEnd) next = encodeCursor(rows.windowEnd);
    if (cursor) prev = cursorOf(first) ?? query.after;
  }
  // A substring search is not counted: that would read its whole window a second time. Its
  // total is what this page found, a lower bound whenever there is a next page.
  const counted =
    mode === 'text'
      ? page.length + (more || rows.windowEnd ? COUNT_CAP + 1 : 0)
      : await cappedCount(conn, filters);
  return {
    total: mode === 'text' ? page.length : Math.min(counted, COUNT_CAP),
    totalCapped: counted > COUNT_CAP,
    offset: cursor ? 0 : query.offset,
    limit: query.limit,
    tasks,
    ...(next !== undefined && { next }),
    ...(prev !== undefined && { prev }),
    ...(rows.windowEnd && { searchWindowFull: searchWindow }),
    source: 'history',
  };
}

async function hasIdPrefix({ db }: HistoryConnection, prefix: string): Promise<boolean> {
  const row = await db
    .selectFrom('celeriac_monitor_task')
    .select('uuid')
    .where('uuid', '>=', prefix)
    .where('uuid', '<', `${prefix}\uffff`)
    .limit(1)
    .executeTakeFirst();
  return row !== undefined;
}

/** Filters other than the cursor and the substring search. */
function baseFilters(eb: Eb, query: TaskQuery, idPrefix: string | undefined): Expression<SqlBool>[] {
  const out: Expression<SqlBool>[] = [];
  const states = query.state
    ?.split(',')
    .map((s) => s.trim().toUpperCase())
    .filter(Boolean);
  if (states?.length === 1) out.push(eb('state', '=', states[0]!));
  else if (states && states.length > 1) out.push(eb('state', 'in', states));
  if (query.taskname) out.push(eb('name', '=', query.taskname));
  if (query.workername) out.push(eb('worker', '=', query.workername));
  if (query.received_start !== undefined) out.push(eb('received', '>=', query.received_start));
  if (query.received_end !== undefined) out.push(eb('received', '<=', query.received_end));
  if (idPrefix !== undefined) {
    // A byte-order range (SQLite BINARY, PostgreSQL "C"): the primary key answers it.
    out.push(eb('uuid', '>=', idPrefix), eb('uuid', '<', `${idPrefix}\uffff`));
  }
  return out;
}

function cursorFilter(eb: Eb, sortKey: SortKey, cursor: HistoryCursor, towardsLarger: boolean) {
  return eb(eb.refTuple(sortKey, 'uuid'), towardsLarger ? '>' : '<', eb.tuple(cursor.key, cursor.uuid));
}

async function plainPage(
  { db }: HistoryConnection,
  filters: (eb: Eb) => Expression<SqlBool>[],
  sortKey: SortKey,
  descending: boolean,
  backwards: boolean,
  cursor: HistoryCursor | undefined,
  query: TaskQuery,
): Promise<{ rows: Row[]; windowEnd?: HistoryCursor }> {
  // Walking backwards flips the direction; the page is reversed afterwards.
  const desc = descending !== backwards;
  let q = db
    .selectFrom('celeriac_monitor_task')
    .select(['uuid', `${sortKey} as key`, 'data'])
    .where((eb) => eb.and([...filters(eb), ...(cursor ? [cursorFilter(eb, sortKey, cursor, !desc)] : [])]))
    .orderBy(sortKey, desc ? 'desc' : 'asc')
    .orderBy('uuid', desc ? 'desc' : 'asc')
    .limit(query.limit + 1);
  if (!cursor && query.offset > 0) q = q.offset(query.offset);
  return { rows: (await q.execute()) as Row[] };
}

async function textSearchPage(
  conn: HistoryConnection,
  filters: (eb: Eb) => Expression<SqlBool>[],
  search: string,
  sortKey: SortKey,
  descending: boolean,
  backwards: boolean,
  cursor: HistoryCursor | undefined,
  query: TaskQuery,
  searchWindow: number,
): Promise<{ rows: Row[]; windowEnd?: HistoryCursor }> {
  const { db } = conn;
  const desc = descending !== backwards;
  const direction = desc ? 'desc' : 'asc';
  // The window carries no `data`: 100,000 rows of JSON would be read for a page of 100.
  const window = db
    .selectFrom('celeriac_monitor_task')
    .select(['uuid', 'timestamp', 'received', 'search_text'])
    .where((eb) => eb.and([...filters(eb), ...(cursor ? [cursorFilter(eb, sortKey, cursor, !desc)] : [])]))
    .orderBy(sortKey, direction)
    .orderBy('uuid', direction)
    .limit(searchWindow);
  let q = db
    .selectFrom(window.as('w'))
    .select(['w.uuid', `w.${sortKey} as key`])
    .where(sql<SqlBool>`w.search_text like ${likePattern(search)} escape '\\'`)
    .orderBy(`w.${sortKey}`, direction)
    .orderBy('w.uuid', direction)
    .limit(query.limit + 1);
  if (!cursor && query.offset > 0) q = q.offset(query.offset);
  const matches = await q.execute();
  const data = new Map<string, string>();
  if (matches.length > 0) {
    const found = await db
      .selectFrom('celeriac_monitor_task')
      .select(['uuid', 'data'])
      .where(
        'uuid',
        'in',
        matches.map((m) => m.uuid),
      )
      .execute();
    for (const row of found) data.set(row.uuid, row.data);
  }
  const rows: Row[] = matches.map((m) => ({ uuid: m.uuid, key: m.key, data: data.get(m.uuid) ?? '' }));
  if (rows.length > query.limit || backwards) return { rows };
  // Fewer matches than a page: if the window was full, older rows were not read. Hand out the
  // window's last row as the next cursor, so "older →" searches on from there.
  const end = await db
    .selectFrom('celeriac_monitor_task')
    .select(['uuid', `${sortKey} as key`])
    .where((eb) => eb.and([...filters(eb), ...(cursor ? [cursorFilter(eb, sortKey, cursor, !desc)] : [])]))
    .orderBy(sortKey, direction)
    .orderBy('uuid', direction)
    .offset(searchWindow - 1)
    .limit(1)
    .executeTakeFirst();
  return end && end.key !== null ? { rows, windowEnd: { key: end.key, uuid: end.uuid } } : { rows };
}

/** Rows matching, counted up to `COUNT_CAP + 1`. */
async function cappedCount(
  { db }: HistoryConnection,
  filters: (eb: Eb) => Expression<SqlBool>[],
): Promise<number> {
  const matching = db
    .selectFrom('celeriac_monitor_task')
    .select('uuid')
    .where((eb) => eb.and(filters(eb)))
    .limit(COUNT_CAP + 1);
  const row = await db
    .selectFrom(matching.as('m'))
    .select((eb) => eb.fn.countAll<number | string>().as('n'))
    .executeTakeFirst();
  return Number(row?.n ?? 0);
}

/** `%needle%`, lower-cased, with LIKE's own wildcards taken literally. */
function likePattern(search: string): string {
  return `%${search.toLowerCase().replace(/[\\%_]/g, (c) => `\\${c}`)}%`;
}

function parseRow(row: Row): TaskRecord | undefined {
  try {
    return JSON.parse(row.data) as TaskRecord;
  } catch {
    // A row that no longer parses is skipped, not fatal; retention removes it eventually.
    return undefined;
  }
}
