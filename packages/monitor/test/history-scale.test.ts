import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Celeriac } from 'celeriac';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { describeWith, SERVICES, uniqueName } from '../../celeriac/test/helpers/services.ts';
import { TaskHistory } from '../src/history/task-history.ts';
import { Monitor } from '../src/monitor.ts';
import { createMonitorApp } from '../src/server/app.ts';
import { TaskQuerySchema, type TaskPage } from '../src/state/task-query.ts';
import { newTask, type TaskRecord } from '../src/state/task-state.ts';
import { seededTask, seedHistory } from './history-seed.ts';

const N = 20_000;
const dir = mkdtempSync(join(tmpdir(), 'celeriac-monitor-scale-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const q = (input: Record<string, string | number>) => TaskQuerySchema.parse(input);
const all = (n: number, newestAt: number) => Array.from({ length: n }, (_, i) => seededTask(i, newestAt, n));
/** What a filter must return: newest first by timestamp, uuid as tie-breaker. */
const newestFirst = (tasks: TaskRecord[]) =>
  tasks.sort((a, b) => b.timestamp - a.timestamp || (a.uuid < b.uuid ? 1 : -1)).map((t) => t.uuid);

/** One suite, run on SQLite and PostgreSQL. */
function historySuite(open: () => Promise<{ url: string; schema?: string; drop: () => Promise<void> }>) {
  let history: TaskHistory;
  let tasks: TaskRecord[];
  let drop: () => Promise<void>;

  beforeAll(async () => {
    const target = await open();
    drop = target.drop;
    const { newestAt } = await seedHistory(target.url, N, target.schema ? { schema: target.schema } : {});
    tasks = all(N, newestAt);
    history = new TaskHistory({
      url: target.url,
      ...(target.schema && { schema: target.schema }),
      flushIntervalMs: 60_000,
      searchWindow: 5_000,
      retentionMs: 365 * 24 * 3600_000,
    });
    await history.open();
  }, 60_000);
  afterAll(async () => {
    await history?.close();
    await drop?.();
  });

  it('pages the whole history by keyset: no gaps, no repeats, newest first, and back again', async () => {
    const seen: string[] = [];
    const pages: TaskPage[] = [];
    let page = await history.query(q({ limit: 1000 }));
    for (;;) {
      pages.push(page);
      seen.push(...page.tasks.map((t) => t.uuid));
      if (!page.next) break;
      page = await history.query(q({ limit: 1000, after: page.next }));
    }
    expect(seen).toEqual(newestFirst([...tasks]));
    expect(pages).toHaveLength(N / 1000);
    // The first page counts up to the cap and says so.
    expect(pages[0]).toMatchObject({ total: 10_000, totalCapped: true, source: 'history' });
    // `prev` from page 3 gives page 2 exactly.
    const back = await history.query(q({ limit: 1000, before: pages[2]!.prev! }));
    expect(back.tasks.map((t) => t.uuid)).toEqual(pages[1]!.tasks.map((t) => t.uuid));
    expect(back.next).toBeDefined();
  });

  it('filters by state, name and worker over the whole history, with exact counts under the cap', async () => {
    const rare = await history.query(q({ taskname: 'tasks.rare', limit: 1000 }));
    const expected = newestFirst(tasks.filter((t) => t.name === 'tasks.rare'));
    expect(rare.tasks.map((t) => t.uuid)).toEqual(expected);
    expect(rare).toMatchObject({ total: expected.length, totalCapped: false });
    expect(rare.next).toBeUndefined();

    const failed = await history.query(q({ state: 'FAILURE,RETRY', workername: 'celery@w3', limit: 50 }));
    const failedAll = newestFirst(
      tasks.filter((t) => ['FAILURE', 'RETRY'].includes(t.state) && t.worker === 'celery@w3'),
    );
    expect(failed.tasks.map((t) => t.uuid)).toEqual(failedAll.slice(0, 50));
    expect(failed.total).toBe(failedAll.length);
    const second = await history.query(
      q({ state: 'FAILURE,RETRY', workername: 'celery@w3', limit: 50, after: failed.next! }),
    );
    expect(second.tasks.map((t) => t.uuid)).toEqual(failedAll.slice(50, 100));
  });

  it('filters by received time and sorts by it', async () => {
    const from = tasks[100]!.received!;
    const to = tasks[199]!.received!;
    const page = await history.query(
      q({ received_start: from, received_end: to, sort_by: 'received', limit: 1000 }),
    );
    expect(page.tasks.map((t) => t.uuid)).toEqual(tasks.slice(100, 200).map((t) => t.uuid));
  });

  it('finds a task by an id prefix anywhere in the history', async () => {
    const target = tasks[3]!; // among the oldest
    const page = await history.query(q({ search: target.uuid.slice(0, 13) }));
    expect(page.tasks.map((t) => t.uuid)).toEqual([target.uuid]);
  });

  it('searches args substrings within a bounded window, and searches on from where it stopped', async () => {
    const page = await history.query(q({ search: "ORDER-19999'" })); // case-insensitive
    expect(page.tasks.map((t) => t.uuid)).toEqual([tasks[19_999]!.uuid]);

    // `order-12'` is an old task: beyond the newest 5,000 rows the window reads.
    const first = await history.query(q({ search: "'order-12'" }));
    expect(first.tasks).toEqual([]);
    expect(first.searchWindowFull).toBe(5_000);
    let cursor = first.next;
    let found: TaskRecord[] = [];
    for (let hops = 0; cursor && found.length === 0 && hops < 10; hops++) {
      const more = await history.query(q({ search: "'order-12'", after: cursor }));
      found = more.tasks;
      cursor = more.next;
    }
    expect(found.map((t) => t.uuid)).toEqual([tasks[12]!.uuid]);

    // LIKE wildcards in the search are literal characters.
    expect((await history.query(q({ search: 'order-1%' }))).tasks).toEqual([]);
  });

  it('reads pending writes first, updates in place, and finds one task by id', async () => {
    const update = { ...tasks[5]!, state: 'REVOKED', timestamp: tasks[N - 1]!.timestamp + 10 };
    history.save(update);
    const page = await history.query(q({ state: 'REVOKED' }));
    expect(page.tasks).toEqual([]); // the history itself does not flush on read; listTasks does
    await history.flush();
    const after = await history.query(q({ state: 'REVOKED' }));
    expect(after.tasks.map((t) => t.uuid)).toEqual([update.uuid]);
    expect((await history.query(q({ limit: 1 }))).tasks[0]?.uuid).toBe(update.uuid);
    expect(await history.get(update.uuid)).toMatchObject({ state: 'REVOKED' });
    expect(await history.get('no-such-task')).toBeUndefined();
  });
}

describe('history at scale (SQLite)', () => {
  historySuite(async () => ({ url: `sqlite://${join(dir, 'scale.db')}`, drop: async () => undefined }));
});

await describeWith(['postgres'], 'history at scale (PostgreSQL)', () => {
  historySuite(async () => {
    const schema = uniqueName('h4_hist').replace(/-/g, '_');
    const client = new pg.Client({ connectionString: SERVICES.postgres.url });
    await client.connect();
    await client.query(`create schema "${schema}"`);
    return {
      url: SERVICES.postgres.url,
      schema,
      drop: async () => {
        await client.query(`drop schema "${schema}" cascade`);
        await client.end();
      },
    };
  });
});

describe('memory stays bounded', () => {
  it('drops the oldest waiting writes past maxPending while the database is unavailable, and says so', async () => {
    const errors: unknown[] = [];
    const history = new TaskHistory({
      url: `sqlite://${join(dir, 'pending.db')}`,
      flushIntervalMs: 60_000,
      flushBatchSize: 1_000_000,
      maxPending: 100,
      onError: (e) => errors.push(e),
    });
    // Not opened: nothing can be written, as when the database is down.
    for (let i = 0; i < 250; i++) history.save(newTask(`p${i}`, Date.now() / 1000 + i));
    expect(history.pending).toBe(100);
    expect(history.counts.dropped).toBe(150);
    expect(String(errors[0])).toMatch(/100 task versions waiting.*dropped the oldest/);
    await history.open();
    await history.flush();
    expect(await history.count()).toBe(100);
    expect((await history.get('p249'))?.uuid).toBe('p249');
    expect(await history.get('p0')).toBeUndefined();
    await history.close();
  });

  it('prunes a large backlog past retention in chunks', async () => {
    const url = `sqlite://${join(dir, 'prune.db')}`;
    const { newestAt } = await seedHistory(url, 12_000);
    const history = new TaskHistory({ url, retentionMs: 2_000 * 1000, maxRows: 1_500 });
    await history.open();
    expect(await history.prune(newestAt * 1000)).toBe(12_000 - 1_500);
    expect(await history.count()).toBe(1_500);
    await history.close();
  });

  it('the monitor lists and shows tasks memory evicted, from the history', async () => {
    const url = `sqlite://${join(dir, 'monitor.db')}`;
    const { newestAt } = await seedHistory(url, 15_000);
    const app = new Celeriac({ broker: `memory://h4-scale-${process.pid}` });
    const monitor = new Monitor(app, { maxTasks: 200, history: { url }, enableEventsIntervalMs: 0 });
    await monitor.start();
    try {
      expect(monitor.state.taskCount).toBe(200);
      const web = createMonitorApp(monitor, { auth: { insecureNoAuth: true } });
      const api = await web.request('/api/tasks?state=SUCCESS&limit=5');
      const body = (await api.json()) as TaskPage;
      const successes = newestFirst(all(15_000, newestAt).filter((t) => t.state === 'SUCCESS'));
      expect(body).toMatchObject({ source: 'history', totalCapped: false, total: successes.length });
      const expected = successes.slice(0, 5);
      expect(body.tasks.map((t) => t.uuid)).toEqual(expected);

      const old = seededTask(7, newestAt, 15_000);
      expect(monitor.state.task(old.uuid)).toBeUndefined();
      const info = await web.request(`/api/task/info/${old.uuid}`);
      expect(info.status).toBe(200);
      expect(await info.json()).toMatchObject({ uuid: old.uuid, name: old.name });
      const detail = await web.request(`/task/${old.uuid}`);
      expect(await detail.text()).toContain('order-7');

      // A task the monitor just saw is listed at once (pending writes are flushed before reading).
      monitor.onEvent({
        type: 'task-received',
        uuid: 'fresh-task',
        name: 'tasks.fresh',
        hostname: 'celery@w1',
        timestamp: newestAt + 100,
        local_received: newestAt + 100,
      });
      const fresh = (await (await web.request('/api/tasks?limit=1')).json()) as TaskPage;
      expect(fresh.tasks[0]?.uuid).toBe('fresh-task');

      const html = await (await web.request('/tasks')).text();
      expect(html).toContain('1–100 of more than 10,000');
      const next = /href="([^"]*after=[^"]+)"/.exec(html)?.[1];
      expect(next).toBeDefined();
      const second = await (await web.request(next!.replace(/&amp;/g, '&'))).text();
      expect(second).toContain('100 tasks of more than 10,000');
      expect(second).toContain('← newer');

      const bad = await web.request('/api/tasks?after=not-a-cursor');
      expect(bad.status).toBe(400);
      expect(await bad.json()).toMatchObject({ error: { message: expect.stringContaining('cursor') } });
    } finally {
      await monitor.stop();
      await app.close();
    }
  });
});
