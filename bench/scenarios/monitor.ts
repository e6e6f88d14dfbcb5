import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import pg from 'pg';
import { Celeriac } from '../../packages/celeriac/src/index.ts';
import { silentLogger } from '../../packages/celeriac/src/util/logger.ts';
import { Monitor } from '../../packages/monitor/src/monitor.ts';
import { createMonitorApp } from '../../packages/monitor/src/server/app.ts';
import { bulkInsert } from '../../packages/monitor/test/bulk-insert.ts';
import { seedHistory } from '../../packages/monitor/test/history-seed.ts';
import { formatCount } from '../lib/progress.ts';
import { percentile, ratePerSecond, sleep } from '../lib/stats.ts';
import type { Figure, Scenario, ScenarioContext } from '../lib/types.ts';

const PG_URL = process.env.BENCH_PG_URL ?? 'postgresql://postgres@127.0.0.1:5432/test';
const OFFERED_RATE = 10_000;
const BATCH = 24; // Celery's task.multi buffer_limit
const PAGE_TARGET_MS = 100;

/**
 * The monitor at scale (issue 6): (a) events/s through the real path (RabbitMQ `celeryev` →
 * EventReceiver → ClusterState → SQLite history) with a producer offering 10,000 events/s in
 * `task.multi` batches, and the lag from send to state; (b) RSS while 1,000,000 tasks go through
 * the monitor; (c) the Tasks list's first page (in-process `app.request`) over 1,000,000 history
 * rows, unfiltered and filtered, on SQLite and PostgreSQL; (d) the same for `/api/results` over
 * 1,000,000 rows of the SQL result backend. `--quick` divides sizes by 10.
 */
export const monitorScenario: Scenario = {
  name: 'monitor',
  title: 'monitor: event ingestion, memory over 1M tasks, first pages over 1M history and result rows',
  async run(ctx) {
    const size = ctx.settings.quick ? 100_000 : 1_000_000;
    const dir = mkdtempSync(join(tmpdir(), 'celeriac-bench-monitor-'));
    try {
      return [
        ...(await ctx.attempt('ingestion at 10,000 events/s', () => ingestion(ctx, dir))),
        ...(await ctx.attempt(`RSS over ${formatCount(size)} tasks`, () => memory(ctx, dir, size))),
        ...(await ctx.attempt('Tasks first page, SQLite', () => taskPages(ctx, 'sqlite', dir, size))),
        ...(await ctx.attempt('Tasks first page, PostgreSQL', () => taskPages(ctx, 'postgres', dir, size))),
        ...(await ctx.attempt('Results first page, SQLite', () => resultPages(ctx, 'sqlite', dir, size))),
        ...(await ctx.attempt('Results first page, PostgreSQL', () =>
          resultPages(ctx, 'postgres', dir, size),
        )),
      ];
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  },
};

/** (a) A producer on its own channel offers 10,000 events/s; the monitor reads them as in production. */
async function ingestion(ctx: ScenarioContext, dir: string): Promise<Figure[]> {
  const durationMs = ctx.settings.quick ? 5_000 : 15_000;
  const app = new Celeriac({ broker: ctx.settings.amqpUrl, logger: silentLogger });
  const monitor = new Monitor(app, {
    history: { url: `sqlite://${join(dir, 'ingest.db')}` },
    enableEventsIntervalMs: 0,
    logger: silentLogger,
  });
  await monitor.start();
  const lags: number[] = [];
  let applied = 0;
  let lastAppliedAt = 0;
  const run = ctx.uniqueName('bench-mon');
  monitor.state.onChange((change, event) => {
    // The exchange is shared: count only this run's events, not other workers' on the same broker.
    if (change.kind !== 'task' || !change.task.uuid.startsWith(run)) return;
    applied++;
    lastAppliedAt = performance.now();
    if (applied % 10 === 0) lags.push(Date.now() - (event.timestamp as number) * 1000);
  });
  const channel = await ctx.conn.createChannel();
  const types = ['task-received', 'task-started', 'task-succeeded'] as const;
  let sent = 0;
  const batch = () => {
    const now = Date.now() / 1000;
    const events: string[] = [];
    for (let i = 0; i < BATCH; i++, sent++) {
      const task = Math.floor(sent / 3);
      const type = types[sent % 3]!;
      const extra =
        type === 'task-received'
          ? `,"name":"bench.task${task % 20}","args":"(${task},)","kwargs":"{}"`
          : type === 'task-succeeded'
            ? `,"result":"${task}","runtime":0.001`
            : '';
      events.push(
        `{"type":"${type}","uuid":"${run}-${task}","hostname":"celery@bench${task % 8}","timestamp":${now},"clock":${sent},"pid":1${extra}}`,
      );
    }
    return Buffer.from(`[${events.join(',')}]`);
  };
  const headers = { hostname: 'celery@bench-producer' };
  const started = performance.now();
  while (performance.now() - started < durationMs) {
    const due = Math.floor(((performance.now() - started) / 1000) * OFFERED_RATE);
    while (sent < due) {
      channel.publish('celeryev', 'task.multi', batch(), {
        contentType: 'application/json',
        contentEncoding: 'utf-8',
        headers,
      });
    }
    await sleep(5);
  }
  const sendMs = performance.now() - started;
  const drainStarted = performance.now();
  // The receiver's queue drops events older than 5 s (Celery's event_queue_ttl): stop waiting then.
  while (applied < sent && performance.now() - lastAppliedAt < 5_500) await sleep(20);
  const drainMs = performance.now() - drainStarted;
  const pendingHistory = monitor.history?.pending ?? 0;
  await channel.close().catch(() => undefined);
  await monitor.stop();
  await app.close();
  lags.sort((a, b) => a - b);
  const rate = ratePerSecond(applied, Math.max(sendMs, lastAppliedAt - started));
  const details = {
    offered: OFFERED_RATE,
    sent,
    applied,
    lost: sent - applied,
    lagP50Ms: Math.round(percentile(lags, 50)),
    lagP99Ms: Math.round(percentile(lags, 99)),
    drainMs: Math.round(drainMs),
    historyPendingAtEnd: pendingHistory,
    keepsUp: applied === sent && percentile(lags, 99) < 1_000,
  };
  return [
    {
      id: 'monitor.ingest',
      label: 'monitor: events ingested/s (10,000/s offered)',
      kind: 'rate',
      value: rate,
      n: applied,
      details,
    },
    {
      id: 'monitor.ingest.lag.p99',
      label: 'monitor: event lag p99, send → state',
      kind: 'latency',
      value: percentile(lags, 99),
      n: lags.length,
      details: { p50: details.lagP50Ms, drainMs: details.drainMs },
    },
  ];
}

/** (b) Tasks fed straight into the monitor (state + history writes), RSS sampled as they go. */
async function memory(ctx: ScenarioContext, dir: string, tasks: number): Promise<Figure[]> {
  const app = new Celeriac({ broker: `memory://${ctx.uniqueName('bench-mon-mem')}`, logger: silentLogger });
  const monitor = new Monitor(app, {
    history: { url: `sqlite://${join(dir, 'memory.db')}` },
    enableEventsIntervalMs: 0,
    logger: silentLogger,
  });
  await monitor.start();
  const mb = () => process.memoryUsage().rss / 2 ** 20;
  const samples: Record<string, number> = { rssStartMB: Math.round(mb()) };
  const t0 = Date.now() / 1000 - tasks / 1000;
  const started = performance.now();
  for (let i = 0; i < tasks; i++) {
    const ts = t0 + i / 1000;
    const base = { uuid: `mem-${i}`, hostname: `celery@mem${i % 8}`, timestamp: ts, local_received: ts };
    monitor.onEvent({
      ...base,
      type: 'task-received',
      name: `bench.task${i % 20}`,
      args: `(${i},)`,
      kwargs: '{}',
    });
    monitor.onEvent({ ...base, type: 'task-succeeded', result: String(i), runtime: 0.001 });
    if (i % 5_000 === 4_999) {
      // Events arrive over time in real life: let the history write, as its timer would.
      if ((monitor.history?.pending ?? 0) > 20_000) await monitor.history?.flush();
      await new Promise((resolve) => setImmediate(resolve));
    }
    if ((i + 1) % (tasks / 4) === 0) {
      samples[`rssAt${Math.round(((i + 1) / tasks) * 100)}pcMB`] = Math.round(mb());
      ctx.progress.log(`memory: ${formatCount(i + 1)} tasks, RSS ${Math.round(mb())} MB`);
    }
  }
  await monitor.history?.flush();
  const feedMs = performance.now() - started;
  const rows = (await monitor.history?.count()) ?? 0;
  const rss = mb();
  const details = {
    ...samples,
    heapUsedMB: Math.round(process.memoryUsage().heapUsed / 2 ** 20),
    tasksInMemory: monitor.state.taskCount,
    historyRows: rows,
    dropped: monitor.history?.counts.dropped ?? 0,
    tasksPerSecond: Math.round(ratePerSecond(tasks, feedMs)),
  };
  await monitor.stop();
  await app.close();
  return [
    {
      id: `monitor.rss.${tasks}`,
      label: `monitor: RSS after ${formatCount(tasks)} tasks (memory keeps 100,000)`,
      kind: 'memory',
      value: rss,
      n: tasks,
      details,
    },
  ];
}

type Db = 'sqlite' | 'postgres';

/** A fresh PostgreSQL schema for one measurement, dropped afterwards. */
async function pgSchema(ctx: ScenarioContext): Promise<{ name: string; drop: () => Promise<void> }> {
  const name = ctx
    .uniqueName('bench_mon')
    .replace(/[^a-z0-9_]/gi, '_')
    .toLowerCase();
  const client = new pg.Client({ connectionString: PG_URL });
  await client.connect();
  await client.query(`create schema "${name}"`);
  return {
    name,
    drop: async () => {
      await client.query(`drop schema "${name}" cascade`).catch(() => undefined);
      await client.end();
    },
  };
}

/** Median of `runs` timed requests after one untimed warm-up; the cold (first) time in details. */
async function timePage(
  request: () => Response | Promise<Response>,
  runs = 7,
): Promise<{ median: number; cold: number; status: number }> {
  const times: number[] = [];
  let status = 0;
  for (let i = 0; i <= runs; i++) {
    const t = performance.now();
    const res = await request();
    await res.text();
    status = res.status;
    times.push(performance.now() - t);
  }
  const cold = times.shift()!;
  times.sort((a, b) => a - b);
  return { median: percentile(times, 50), cold, status };
}

/** (c) `/api/tasks` and the Tasks page over `rows` seeded history rows. */
async function taskPages(ctx: ScenarioContext, db: Db, dir: string, rows: number): Promise<Figure[]> {
  const schema = db === 'postgres' ? await pgSchema(ctx) : undefined;
  const url = db === 'sqlite' ? `sqlite://${join(dir, 'tasks.db')}` : PG_URL;
  try {
    const seedStarted = performance.now();
    const seeded = await seedHistory(url, rows, {
      ...(schema && { schema: schema.name }),
      onProgress: (done) =>
        done % 250_000 === 0 && ctx.progress.log(`seeded ${formatCount(done)} history rows (${db})`),
    });
    const seedMs = performance.now() - seedStarted;
    const app = new Celeriac({
      broker: `memory://${ctx.uniqueName('bench-mon-pages')}`,
      logger: silentLogger,
    });
    const monitor = new Monitor(app, {
      maxTasks: 1_000,
      history: { url, ...(schema && { schema: schema.name }) },
      enableEventsIntervalMs: 0,
      logger: silentLogger,
    });
    await monitor.start();
    const web = createMonitorApp(monitor, { auth: { insecureNoAuth: true } });
    const figures: Figure[] = [];
    const cases: Array<[string, string]> = [
      ['all', '/api/tasks?limit=100'],
      ['state', '/api/tasks?limit=100&state=FAILURE'],
      ['name', '/api/tasks?limit=100&taskname=tasks.rare'],
      ['page-html', '/tasks'],
      ['id-prefix', `/api/tasks?limit=100&search=${seededIdPrefix(rows)}`],
      ['args-search', `/api/tasks?limit=100&search=${encodeURIComponent(`order-${rows - 5}'`)}`],
    ];
    for (const [label, path] of cases) {
      const timed = await timePage(() => web.request(path));
      if (timed.status !== 200) throw new Error(`${path} answered ${timed.status}`);
      figures.push({
        id: `monitor.tasks.${db}.${label}`,
        label: `monitor: Tasks first page, ${db}, ${label} (${formatCount(rows)} rows)`,
        kind: 'latency',
        value: timed.median,
        n: rows,
        details: {
          path,
          coldMs: Math.round(timed.cold * 10) / 10,
          target: `< ${PAGE_TARGET_MS} ms`,
          met: timed.median < PAGE_TARGET_MS,
          seedRowsPerSecond: Math.round(seeded.rowsPerSecond),
          seedMs: Math.round(seedMs),
        },
      });
    }
    // Deep in the list: the 100th page by cursor costs what the first does.
    let next: string | undefined;
    for (let i = 0; i < 99; i++) {
      const body = (await (
        await web.request(`/api/tasks?limit=100${next ? `&after=${next}` : ''}`)
      ).json()) as { next?: string };
      next = body.next;
    }
    const deep = await timePage(() => web.request(`/api/tasks?limit=100&after=${next}`));
    figures.push({
      id: `monitor.tasks.${db}.page-100`,
      label: `monitor: Tasks page 100 by cursor, ${db}`,
      kind: 'latency',
      value: deep.median,
      n: rows,
      details: { coldMs: Math.round(deep.cold * 10) / 10 },
    });
    await monitor.stop();
    await app.close();
    return figures;
  } finally {
    await schema?.drop();
  }
}

/** The id of a seeded task near the old end: its first 13 characters (history-seed.ts ids). */
function seededIdPrefix(rows: number): string {
  return (
    Math.floor(rows / 10)
      .toString(16)
      .padStart(8, '0') + '-5eed'
  );
}

/** A fresh PostgreSQL database (the result backend keeps its tables and migrations in `public`). */
async function pgDatabase(ctx: ScenarioContext): Promise<{ url: string; drop: () => Promise<void> }> {
  const name = ctx
    .uniqueName('bench_mon_res')
    .replace(/[^a-z0-9_]/gi, '_')
    .toLowerCase();
  const admin = new pg.Client({ connectionString: PG_URL });
  await admin.connect();
  await admin.query(`create database "${name}"`);
  const url = new URL(PG_URL);
  url.pathname = `/${name}`;
  return {
    url: url.toString(),
    drop: async () => {
      await admin.query(`drop database "${name}" with (force)`).catch(() => undefined);
      await admin.end();
    },
  };
}

/** (d) `/api/results` over `rows` rows of the SQL result backend (`celeriac_task_result`). */
async function resultPages(ctx: ScenarioContext, db: Db, dir: string, rows: number): Promise<Figure[]> {
  const database = db === 'postgres' ? await pgDatabase(ctx) : undefined;
  const sqliteFile = join(dir, 'results.db');
  const backendUrl = database ? database.url : `sqlite://${sqliteFile}`;
  try {
    const app = new Celeriac({
      broker: `memory://${ctx.uniqueName('bench-mon-results')}`,
      backend: backendUrl,
      logger: silentLogger,
    });
    const backend = await app.backend();
    if (!backend) throw new Error('no result backend');
    // The backend creates its table (migrations) on first use.
    await backend.get('warm-up-no-such-task');
    const seedStarted = performance.now();
    const now = Date.now();
    const states = ['SUCCESS', 'SUCCESS', 'SUCCESS', 'FAILURE', 'RETRY', 'STARTED', 'REVOKED'];
    await bulkInsert(
      database ? { postgres: database.url } : { sqlite: sqliteFile },
      'celeriac_task_result',
      [
        ['task_id', 'text'],
        ['status', 'text'],
        ['name', 'text'],
        ['args', 'text'],
        ['kwargs', 'text'],
        ['result', 'text'],
        ['worker', 'text'],
        ['queue', 'text'],
        ['retries', 'int4'],
        ['created_at_ms', 'int8'],
        ['updated_at_ms', 'int8'],
        ['done_at_ms', 'int8'],
      ],
      rows,
      (j) => {
        const at = now - (rows - j) * 1000;
        return [
          `${j.toString(16).padStart(8, '0')}-4e5a-4000-8000-${String(j).padStart(12, '0')}`,
          states[j % states.length]!,
          j % 1000 === 999 ? 'tasks.rare' : `tasks.t${j % 4}`,
          `[${j}]`,
          '{}',
          String(j * 2),
          `celery@w${j % 8}`,
          'celery',
          0,
          at,
          at,
          at,
        ];
      },
      (done) => done % 250_000 === 0 && ctx.progress.log(`seeded ${formatCount(done)} result rows (${db})`),
    );
    const seedMs = performance.now() - seedStarted;
    const monitor = new Monitor(app, { history: false, enableEventsIntervalMs: 0, logger: silentLogger });
    await monitor.start();
    const web = createMonitorApp(monitor, { auth: { insecureNoAuth: true } });
    const figures: Figure[] = [];
    for (const [label, path] of [
      ['all', '/api/results?limit=50'],
      ['state', '/api/results?limit=50&state=FAILURE'],
      ['name', '/api/results?limit=50&taskname=tasks.rare'],
    ] as const) {
      const timed = await timePage(() => web.request(path));
      if (timed.status !== 200) throw new Error(`${path} answered ${timed.status}`);
      figures.push({
        id: `monitor.results.${db}.${label}`,
        label: `monitor: Results first page, ${db}, ${label} (${formatCount(rows)} rows)`,
        kind: 'latency',
        value: timed.median,
        n: rows,
        details: {
          path,
          coldMs: Math.round(timed.cold * 10) / 10,
          target: `< ${PAGE_TARGET_MS} ms`,
          met: timed.median < PAGE_TARGET_MS,
          seedRowsPerSecond: Math.round(ratePerSecond(rows, seedMs)),
        },
      });
    }
    await monitor.stop();
    await app.close();
    return figures;
  } finally {
    await database?.drop();
  }
}
