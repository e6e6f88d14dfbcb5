import { describe, expect, it } from 'vitest';
import { ClusterState } from '../src/state/cluster-state.ts';
import { TimeSeries, timeSeriesFor } from '../src/state/time-series.ts';

const T0 = 1_800_000_000; // a fixed "now" (epoch seconds), on a minute boundary

function clock(start = T0) {
  let now = start;
  return { now: () => now, advance: (seconds: number) => (now += seconds) };
}

let seq = 0;
function finish(state: ClusterState, name: string, outcome: 'succeeded' | 'failed', runtime = 0.1, at = T0) {
  const uuid = `t-${++seq}`;
  state.apply({ type: 'task-received', uuid, name, hostname: 'w1@h', timestamp: at - runtime });
  state.apply({ type: 'task-started', uuid, hostname: 'w1@h', timestamp: at - runtime });
  state.apply({ type: `task-${outcome}`, uuid, hostname: 'w1@h', timestamp: at, runtime });
  return uuid;
}

const sum = (values: number[]) => values.reduce((a, b) => a + b, 0);

describe('TimeSeries', () => {
  it('counts successes and failures per second and per minute, in the bucket they happened', () => {
    const state = new ClusterState();
    const c = clock();
    const series = new TimeSeries(state, { now: c.now });
    finish(state, 'tasks.add', 'succeeded');
    finish(state, 'tasks.add', 'succeeded');
    c.advance(3);
    finish(state, 'tasks.fail', 'failed');
    const snap = series.snapshot();
    expect(snap.now).toBe(T0 + 3);
    expect(snap.perSecond.interval).toBe(1);
    expect(snap.perSecond.succeeded).toHaveLength(900);
    // The last bucket is "now"; the two successes were three buckets earlier.
    expect(snap.perSecond.start).toBe(T0 + 3 - 899);
    expect(snap.perSecond.succeeded[899 - 3]).toBe(2);
    expect(snap.perSecond.failed[899]).toBe(1);
    expect(sum(snap.perSecond.succeeded)).toBe(2);
    expect(snap.perMinute.succeeded).toHaveLength(1440);
    expect(snap.perMinute.succeeded[1439]).toBe(2);
    expect(snap.perMinute.failed[1439]).toBe(1);
  });

  it('forgets what falls out of the window, and a reused slot starts from zero', () => {
    const state = new ClusterState();
    const c = clock();
    const series = new TimeSeries(state, { now: c.now });
    finish(state, 'tasks.add', 'succeeded');
    c.advance(900); // the same ring slot, one lap later
    expect(sum(series.snapshot().perSecond.succeeded)).toBe(0);
    finish(state, 'tasks.add', 'succeeded');
    const snap = series.snapshot();
    expect(snap.perSecond.succeeded[899]).toBe(1);
    expect(sum(snap.perMinute.succeeded)).toBe(2); // both are within 24 h
    c.advance(24 * 3600);
    expect(sum(series.snapshot().perMinute.succeeded)).toBe(0);
  });

  it('gives p50/p90/p99 per task name over the newest samples, most frequent name first', () => {
    const state = new ClusterState();
    const series = new TimeSeries(state, { now: clock().now, runtimeSamples: 100 });
    for (let i = 1; i <= 100; i++) finish(state, 'tasks.slow', 'succeeded', i / 100);
    finish(state, 'tasks.quick', 'succeeded', 0.002);
    finish(state, 'tasks.quick', 'failed', 5); // failures have no runtime percentile
    const [slow, quick] = series.snapshot().runtimes;
    expect(slow).toEqual({ name: 'tasks.slow', count: 100, p50: 0.5, p90: 0.9, p99: 0.99, max: 1 });
    expect(quick).toMatchObject({ name: 'tasks.quick', count: 1, p50: 0.002, p99: 0.002 });
    // 100 more fast runs push the slow ones out of the ring (the count stays all-time).
    for (let i = 0; i < 100; i++) finish(state, 'tasks.slow', 'succeeded', 0.01);
    expect(series.snapshot().runtimes[0]).toMatchObject({ count: 200, p99: 0.01, max: 0.01 });
  });

  it('bounds the task names and workers it tracks', () => {
    const state = new ClusterState();
    const series = new TimeSeries(state, { now: clock().now, maxNames: 3, maxWorkers: 2 });
    for (const name of ['a', 'b', 'c', 'd']) finish(state, name, 'succeeded');
    expect(
      series
        .snapshot()
        .runtimes.map((r) => r.name)
        .sort(),
    ).toEqual(['b', 'c', 'd']);
    for (const host of ['w1@h', 'w2@h', 'w3@h'])
      state.apply({ type: 'worker-heartbeat', hostname: host, timestamp: T0, active: 0, processed: 1 });
    expect(series.snapshot().workers.map((w) => w.hostname)).toEqual(['w2@h', 'w3@h']);
  });

  it('samples each worker at most once per interval, with load, active and processed', () => {
    const state = new ClusterState();
    const c = clock();
    const series = new TimeSeries(state, { now: c.now, workerSampleEverySeconds: 5, workerSamples: 3 });
    const beat = (processed: number) =>
      state.apply({
        type: 'worker-heartbeat',
        hostname: 'w1@h',
        timestamp: c.now(),
        local_received: c.now(),
        freq: 2,
        active: 1,
        processed,
        loadavg: [0.5, 0.4, 0.3],
      });
    beat(10);
    c.advance(2);
    beat(12); // within 5 s of the last sample: skipped
    for (const processed of [20, 30, 40]) {
      c.advance(5);
      beat(processed);
    }
    const [worker] = series.snapshot().workers;
    expect(worker!.processed).toEqual([20, 30, 40]); // a ring of 3: the oldest went
    expect(worker!.t).toEqual([T0 + 7, T0 + 12, T0 + 17]);
    expect(worker!.load).toEqual([0.5, 0.5, 0.5]);
    expect(worker!.active).toEqual([1, 1, 1]);
    expect(worker!.online).toBe(true);
  });

  it('starts from the tasks already in the state (loaded from history) without counting them twice', () => {
    const state = new ClusterState();
    finish(state, 'tasks.add', 'succeeded', 0.2, T0 - 120);
    finish(state, 'tasks.add', 'failed', 0.2, T0 - 30);
    finish(state, 'tasks.old', 'succeeded', 0.2, T0 - 2 * 24 * 3600); // older than 24 h: not counted
    const series = new TimeSeries(state, { now: clock().now });
    const snap = series.snapshot();
    expect(sum(snap.perMinute.succeeded)).toBe(1);
    expect(sum(snap.perMinute.failed)).toBe(1);
    expect(snap.perSecond.failed[899 - 30]).toBe(1);
    expect(snap.runtimes.map((r) => r.name)).toEqual(['tasks.add']);
    finish(state, 'tasks.add', 'succeeded');
    expect(sum(series.snapshot().perMinute.succeeded)).toBe(2);
  });

  it('holds the same memory however many tasks finish', () => {
    const state = new ClusterState({ maxTasks: 1000 });
    const c = clock();
    const series = new TimeSeries(state, { now: c.now });
    for (let i = 0; i < 20_000; i++) {
      if (i % 10 === 0) c.advance(1);
      finish(state, `tasks.n${i % 500}`, 'succeeded', 0.001, c.now());
    }
    const snap = series.snapshot();
    expect(snap.runtimes).toHaveLength(100); // maxNames
    expect(snap.perSecond.succeeded).toHaveLength(900);
    expect(sum(snap.perSecond.succeeded)).toBe(9000); // the last 900 seconds at 10/s
    expect(JSON.stringify(snap).length).toBeLessThan(200_000);
  });

  it('refuses nonsense options and stops counting once closed', () => {
    const state = new ClusterState();
    expect(() => new TimeSeries(state, { runtimeSamples: 0 })).toThrow(
      /runtimeSamples must be a positive integer/,
    );
    const series = new TimeSeries(state, { now: clock().now });
    series.close();
    finish(state, 'tasks.add', 'succeeded');
    expect(sum(series.snapshot().perSecond.succeeded)).toBe(0);
  });

  it('is shared per state', () => {
    const state = new ClusterState();
    expect(timeSeriesFor(state)).toBe(timeSeriesFor(state));
    expect(timeSeriesFor(new ClusterState())).not.toBe(timeSeriesFor(state));
  });
});
