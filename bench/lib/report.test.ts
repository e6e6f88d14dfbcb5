import { describe, expect, it } from 'vitest';
import { compare, markdownTable } from './report.ts';
import { percentile } from './stats.ts';
import type { Figure } from './types.ts';

const rate = (id: string, value: number): Figure => ({ id, label: id, kind: 'rate', value, n: 1000 });
const latency = (id: string, value: number): Figure => ({ id, label: id, kind: 'latency', value, n: 1000 });

describe('compare', () => {
  it('divides rates by their references and judges the worker target on both', () => {
    const figures = compare([
      rate('raw.consume-ack', 20_000),
      rate('python.worker.ignore', 1_000),
      rate('celeriac.worker.ignore', 15_000),
    ]);
    const worker = figures.find((f) => f.id === 'celeriac.worker.ignore')!;
    expect(worker.vsRaw).toBeCloseTo(0.75);
    expect(worker.vsPython).toBeCloseTo(15);
    expect(worker.met).toBe(true);
  });

  it('misses the worker target when either ratio falls short', () => {
    const [, , worker] = compare([
      rate('raw.consume-ack', 20_000),
      rate('python.worker.ignore', 5_000),
      rate('celeriac.worker.ignore', 15_000),
    ]);
    expect(worker!.met).toBe(false);
  });

  it('says n/a, not MISSED, when a reference figure is missing', () => {
    const [publish] = compare([rate('celeriac.publish', 10_000)]);
    expect(publish!.met).toBeNull();
    expect(markdownTable([publish!], [])).toContain('n/a (≥ 0.8× raw)');
  });

  it('compares CPU per message as reference / this, so above 1 means less CPU', () => {
    const withCpu = (id: string, value: number, cpuUsPerTask: number): Figure => ({
      ...rate(id, value),
      details: { cpuUsPerTask },
    });
    const [, , worker] = compare([
      withCpu('raw.consume-ack', 20_000, 30),
      withCpu('python.worker.ignore', 1_000, 900),
      withCpu('celeriac.worker.ignore', 15_000, 45),
    ]);
    expect(worker!.cpuVsRaw).toBeCloseTo(30 / 45);
    expect(worker!.cpuVsPython).toBeCloseTo(20);
  });

  it('inverts latency ratios so above 1 means Celeriac is faster', () => {
    const [, p99] = compare([latency('python.latency.p99', 30), latency('celeriac.latency.p99', 6)]);
    expect(p99!.vsPython).toBeCloseTo(5);
    expect(p99!.met).toBe(true);
  });

  it('lists failed scenarios as rows', () => {
    expect(
      markdownTable([], [{ scenario: 'python-worker', message: 'spawn failed: ENOENT\nmore' }]),
    ).toContain('| python-worker | FAILED: spawn failed: ENOENT |');
  });
});

describe('percentile', () => {
  it('uses the nearest rank', () => {
    const sorted = Array.from({ length: 100 }, (_, i) => i + 1);
    expect(percentile(sorted, 50)).toBe(50);
    expect(percentile(sorted, 99)).toBe(99);
    expect(percentile(sorted, 100)).toBe(100);
    expect(percentile([7], 99)).toBe(7);
    expect(percentile([], 50)).toBeNaN();
  });

  it('keeps a timed-out task (Infinity) visible at the top', () => {
    expect(percentile([1, 2, 3, Number.POSITIVE_INFINITY], 99)).toBe(Number.POSITIVE_INFINITY);
  });
});
