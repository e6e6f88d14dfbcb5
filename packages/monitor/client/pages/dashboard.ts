import { onLive } from '../lib/live.ts';
import { drawRuntimeChart } from '../lib/runtime-chart.ts';
import { fillRuntimeTable } from '../lib/runtime-table.ts';
import { drawStateBar } from '../lib/state-bar.ts';
import { pollStats } from '../lib/stats-feed.ts';
import { bindTaskTable } from '../lib/task-table.ts';
import { bucketTimes, TimeChart } from '../lib/time-chart.ts';
import { bindWorkerTable } from '../lib/worker-table.ts';

const SUCCEEDED = { label: 'succeeded', color: '#2f6b3f', fill: 'rgba(47,107,63,0.15)' };
const FAILED = { label: 'failed', color: '#a4301f', fill: 'rgba(164,48,31,0.15)' };

/** Dashboard: live counters, workers and latest tasks; throughput, runtime and state charts. */
export function init(page: string): void {
  if (page !== 'dashboard') return;
  bindWorkerTable();
  bindTaskTable();
  onLive('summary', (summary) => {
    const set = (id: string, value: number) => {
      const el = document.getElementById(id);
      if (el) el.textContent = String(value);
    };
    set('workers-online', summary.workersOnline);
    set('workers-offline', summary.workersOffline);
    set('events-total', summary.events);
    document.querySelectorAll<HTMLElement>('[data-count]').forEach((el) => {
      el.textContent = String(summary.states[el.dataset.count ?? ''] ?? 0);
    });
  });

  const figure = (name: string) => document.querySelector<HTMLElement>(`figure[data-chart="${name}"]`);
  const perSecondFigure = figure('throughput');
  const perMinuteFigure = figure('throughput-24h');
  const runtimeFigure = figure('runtimes');
  const stateFigure = figure('states');
  const perSecond =
    perSecondFigure && new TimeChart(perSecondFigure, [SUCCEEDED, FAILED], { yLabel: 'tasks/s' });
  const perMinute =
    perMinuteFigure && new TimeChart(perMinuteFigure, [SUCCEEDED, FAILED], { yLabel: 'tasks/min' });
  pollStats((stats) => {
    for (const [chart, series] of [
      [perSecond, stats.perSecond],
      [perMinute, stats.perMinute],
    ] as const) {
      chart?.setData(bucketTimes(series.start, series.interval, series.succeeded.length), [
        series.succeeded,
        series.failed,
      ]);
    }
    if (runtimeFigure) {
      drawRuntimeChart(runtimeFigure, stats.runtimes);
      fillRuntimeTable(runtimeFigure, stats.runtimes);
    }
    if (stateFigure) drawStateBar(stateFigure, stats.states);
  }, 3000);
  if (stateFigure) onLive('summary', (summary) => drawStateBar(stateFigure, summary.states));
}
