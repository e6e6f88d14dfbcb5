import { formatDuration } from './format.ts';
import { place, svg } from './svg.ts';
import type { RuntimeStats } from './types.ts';

const BAR = 7;
const ROW = 3 * BAR + 10;
const COLORS = { p50: '#2f6b3f', p90: '#d08c1f', p99: '#a4301f' } as const;

/**
 * p50 / p90 / p99 runtime per task name as grouped horizontal bars (SVG, on one linear scale),
 * the most frequent names first. Names are written with `textContent`.
 */
export function drawRuntimeChart(figure: HTMLElement, runtimes: RuntimeStats[], maxNames = 10): void {
  const shown = runtimes.slice(0, maxNames);
  figure.dataset.total = String(shown.length);
  if (shown.length === 0) {
    figure.querySelector('svg.runtime-chart')?.remove();
    return;
  }
  // Drawn at the figure's pixel width, so text keeps its size whatever the screen.
  const WIDTH = Math.max(280, figure.clientWidth - 24);
  const LABEL = Math.min(180, Math.round(WIDTH * 0.35));
  const top = Math.max(...shown.map((r) => r.p99), 1e-9);
  const height = shown.length * ROW + 24;
  const chart = svg('svg', {
    class: 'runtime-chart',
    width: WIDTH,
    viewBox: `0 0 ${WIDTH} ${height}`,
    role: 'img',
    'aria-label': 'runtime percentiles per task name',
  });
  const scale = (seconds: number) => ((WIDTH - LABEL - 70) * seconds) / top;
  shown.forEach((r, i) => {
    const y = i * ROW + 4;
    const max = Math.floor(LABEL / 6.5);
    const name = r.name.length > max ? `${r.name.slice(0, max - 1)}\u2026` : r.name;
    chart.append(svg('text', { x: 0, y: y + 2 * BAR, class: 'label' }, name));
    (['p50', 'p90', 'p99'] as const).forEach((q, k) => {
      const w = Math.max(1, scale(r[q]));
      const bar = svg('rect', { x: LABEL, y: y + k * BAR, width: w, height: BAR - 1, fill: COLORS[q] });
      bar.append(svg('title', {}, `${r.name} ${q}: ${formatDuration(r[q])} (${r.count} runs)`));
      chart.append(bar);
      if (q === 'p99')
        chart.append(
          svg('text', { x: LABEL + w + 4, y: y + 3 * BAR - 1, class: 'value' }, formatDuration(r.p99)),
        );
    });
  });
  const legend = height - 6;
  (['p50', 'p90', 'p99'] as const).forEach((q, k) => {
    chart.append(svg('rect', { x: LABEL + k * 70, y: legend - 8, width: 10, height: 8, fill: COLORS[q] }));
    chart.append(svg('text', { x: LABEL + k * 70 + 14, y: legend, class: 'legend' }, q));
  });
  place(figure, 'svg.runtime-chart', chart);
}
