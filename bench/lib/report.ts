import type { Figure } from './types.ts';

/** How a Celeriac figure is judged: its references and the target from the issue. */
interface Comparison {
  raw?: string;
  python?: string;
  target?: string;
  /** undefined when a reference figure is missing (its scenario failed or was not selected). */
  met?: (figure: Figure, vsRaw: number | undefined, vsPython: number | undefined) => boolean | undefined;
}

const workerTarget: Comparison['met'] = (_f, vsRaw, vsPython) =>
  vsRaw === undefined || vsPython === undefined ? undefined : vsRaw >= 0.7 && vsPython >= 4;

const COMPARISONS: Record<string, Comparison> = {
  'beat.lateness.p99': { target: '≤ 50 ms', met: (f) => f.value <= 50 },
  'raw.consume-ack-each': { raw: 'raw.consume-ack' },
  'celeriac.publish': {
    raw: 'raw.publish',
    target: '≥ 0.8× raw',
    met: (_f, vsRaw) => (vsRaw === undefined ? undefined : vsRaw >= 0.8),
  },
  'celeriac.worker.ignore': {
    raw: 'raw.consume-ack',
    python: 'python.worker.ignore',
    target: '≥ 0.7× raw, ≥ 4× Python',
    met: workerTarget,
  },
  'celeriac.worker.redis': {
    raw: 'raw.consume-ack',
    python: 'python.worker.redis',
    target: '≥ 0.7× raw, ≥ 4× Python',
    met: workerTarget,
  },
  'python.worker.ignore': { raw: 'raw.consume-ack' },
  'python.worker.redis': { raw: 'raw.consume-ack' },
  'celeriac.latency.p50': { python: 'python.latency.p50' },
  'celeriac.pool.hash.threads': { python: 'python.pool.hash.prefork' },
  'celeriac.pool.hash.processes': { python: 'python.pool.hash.prefork' },
  'celeriac.pool.hash.async': { python: 'python.pool.hash.prefork' },
  'node.pool.hash.task-cpu': { python: 'python.pool.hash.task-cpu' },
  'celeriac.latency.p99': { python: 'python.latency.p99', target: '≤ 10 ms', met: (f) => f.value <= 10 },
  'monitor.ingest': { target: 'keeps up with 10,000/s', met: (f) => f.details?.keepsUp === true },
  // The monitor's list pages over a million rows (issue 6): first page under 100 ms.
  ...Object.fromEntries(
    ['tasks.sqlite', 'tasks.postgres', 'results.sqlite', 'results.postgres'].flatMap((db) =>
      ['all', 'state', 'name'].map((filter) => [
        `monitor.${db}.${filter}`,
        { target: '< 100 ms', met: (f: Figure) => f.value < 100 },
      ]),
    ),
  ),
};

export interface ComparedFigure extends Figure {
  unit: 'msg/s' | 'ms' | 'MB';
  /** Rates: this / raw. */
  vsRaw?: number;
  /** Rates: this / Python; latencies: Python / this. Above 1 means Celeriac is ahead. */
  vsPython?: number;
  target?: string;
  /** CPU per message of the reference / of this row: above 1 means this row spends less CPU. Steadier than rates on a busy box. */
  cpuVsRaw?: number;
  cpuVsPython?: number;
  /** Whether the target was met; null when a reference is missing. */
  met?: boolean | null;
}

const UNITS = { rate: 'msg/s', latency: 'ms', memory: 'MB' } as const;

export function compare(figures: readonly Figure[]): ComparedFigure[] {
  const byId = new Map(figures.map((f) => [f.id, f]));
  const ratio = (figure: Figure, refId: string | undefined): number | undefined => {
    const ref = refId ? byId.get(refId) : undefined;
    if (!ref || !Number.isFinite(ref.value) || !Number.isFinite(figure.value) || figure.value === 0)
      return undefined;
    return figure.kind === 'latency' ? ref.value / figure.value : figure.value / ref.value;
  };
  const cpuRatio = (figure: Figure, refId: string | undefined): number | undefined => {
    const mine = figure.details?.cpuUsPerTask;
    const theirs = refId ? byId.get(refId)?.details?.cpuUsPerTask : undefined;
    if (typeof mine !== 'number' || typeof theirs !== 'number' || !(mine > 0) || !(theirs > 0))
      return undefined;
    return theirs / mine;
  };
  return figures.map((figure) => {
    const c = COMPARISONS[figure.id] ?? {};
    const vsRaw = ratio(figure, c.raw);
    const vsPython = ratio(figure, c.python);
    const cpuVsRaw = cpuRatio(figure, c.raw);
    const cpuVsPython = cpuRatio(figure, c.python);
    return {
      ...figure,
      unit: UNITS[figure.kind],
      ...(vsRaw !== undefined ? { vsRaw } : {}),
      ...(vsPython !== undefined ? { vsPython } : {}),
      ...(cpuVsRaw !== undefined ? { cpuVsRaw } : {}),
      ...(cpuVsPython !== undefined ? { cpuVsPython } : {}),
      ...(c.target ? { target: c.target, met: c.met?.(figure, vsRaw, vsPython) ?? null } : {}),
    };
  });
}

export function markdownTable(
  figures: readonly ComparedFigure[],
  errors: readonly { scenario: string; message: string }[],
): string {
  const rows = [
    '| scenario | result | × raw | × Python | CPU µs/msg | CPU × raw | CPU × Python | target |',
    '|---|---:|---:|---:|---:|---:|---:|---|',
    ...figures.map((f) =>
      [
        f.label,
        f.kind === 'rate'
          ? `${Math.round(f.value).toLocaleString('en-US')} msg/s`
          : f.kind === 'memory'
            ? `${f.value.toFixed(0)} MB RSS`
            : `${formatMs(f.value)} ms`,
        formatRatio(f.vsRaw),
        formatRatio(f.vsPython),
        typeof f.details?.cpuUsPerTask === 'number' ? String(f.details.cpuUsPerTask) : '',
        formatRatio(f.cpuVsRaw),
        formatRatio(f.cpuVsPython),
        f.target ? `${f.met === null ? 'n/a' : f.met ? 'met' : 'MISSED'} (${f.target})` : '',
      ].join(' | '),
    ),
    ...errors.map((e) => `${e.scenario} | FAILED: ${oneLine(e.message)} | | | | | | `),
  ];
  return rows.map((r) => (r.startsWith('|') ? r : `| ${r} |`)).join('\n');
}

function formatRatio(value: number | undefined): string {
  return value === undefined ? '' : `${value.toFixed(2)}×`;
}

function formatMs(value: number): string {
  return Number.isFinite(value) ? value.toFixed(2) : '∞ (timed out)';
}

function oneLine(text: string): string {
  return (text.split('\n')[0] ?? '').replace(/\|/g, '/').slice(0, 160);
}
