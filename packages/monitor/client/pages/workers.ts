import { pollStats } from '../lib/stats-feed.ts';
import { TimeChart, type LineSpec } from '../lib/time-chart.ts';
import type { WorkerSeries } from '../lib/types.ts';
import { bindWorkerTable } from '../lib/worker-table.ts';

const PALETTE = ['#2f6b3f', '#1c4b80', '#a4301f', '#d08c1f', '#6b3f8a', '#3a8a87', '#8a6b3a', '#5b6660'];

/** Processed per minute between consecutive samples (the heartbeat's counter is cumulative). */
function processedRate(w: WorkerSeries): Array<number | null> {
  return w.processed.map((value, i) => {
    const before = w.processed[i - 1];
    const dt = (w.t[i] ?? 0) - (w.t[i - 1] ?? 0);
    if (i === 0 || value === null || before === null || before === undefined || dt <= 0) return null;
    return Math.max(0, ((value - before) * 60) / dt);
  });
}

/**
 * Aligns every worker's samples on one x axis (uPlot wants one): the union of sample times, with
 * null where a worker has no sample.
 */
function align(
  workers: WorkerSeries[],
  pick: (w: WorkerSeries) => Array<number | null>,
): [number[], Array<Array<number | null>>] {
  const times = [...new Set(workers.flatMap((w) => w.t))].sort((a, b) => a - b);
  const index = new Map(times.map((t, i) => [t, i]));
  const ys = workers.map((w) => {
    const values = pick(w);
    const out = new Array<number | null>(times.length).fill(null);
    w.t.forEach((t, i) => (out[index.get(t)!] = values[i] ?? null));
    return out;
  });
  return [times, ys];
}

/** Workers: live table, controls, and load / processed-per-minute charts per worker. */
export function init(page: string): void {
  if (page !== 'workers') return;
  bindWorkerTable();
  const loadFigure = document.querySelector<HTMLElement>('figure[data-chart="worker-load"]');
  const processedFigure = document.querySelector<HTMLElement>('figure[data-chart="worker-processed"]');
  if (!loadFigure || !processedFigure) return;
  let charts: { names: string; load: TimeChart; processed: TimeChart } | undefined;
  pollStats((stats) => {
    const workers = stats.workers.slice(0, PALETTE.length * 2);
    const names = workers.map((w) => w.hostname).join('\n');
    if (!charts || charts.names !== names) {
      // The set of lines changed: start the charts again with one line per worker.
      loadFigure.querySelector('.chart-canvas')?.remove();
      processedFigure.querySelector('.chart-canvas')?.remove();
      const lines: LineSpec[] = workers.map((w, i) => ({
        label: w.hostname,
        color: PALETTE[i % PALETTE.length]!,
      }));
      charts = {
        names,
        load: new TimeChart(loadFigure, lines, { yLabel: 'load (1 min)' }),
        processed: new TimeChart(processedFigure, lines, { yLabel: 'tasks/min' }),
      };
    }
    // Always the last 15 minutes, so a worker seen for a few seconds is a point at the right edge.
    const window: [number, number] = [stats.now - 900, stats.now];
    charts.load.setData(...align(workers, (w) => w.load), window);
    charts.processed.setData(...align(workers, processedRate), window);
  }, 5000);
}
