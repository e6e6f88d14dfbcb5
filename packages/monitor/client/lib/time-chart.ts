import uPlot from 'uplot';
import 'uplot/dist/uPlot.min.css';

export interface LineSpec {
  label: string;
  color: string;
  /** Fill under the line (a translucent version of the color). */
  fill?: string;
}

/**
 * A uPlot time chart (x = epoch seconds) that follows its container's width. uPlot draws on a
 * canvas and keeps 100k points at 60 fps, so the charts stay cheap even on a full 24 h series.
 */
export class TimeChart {
  private readonly plot: uPlot;

  constructor(
    private readonly figure: HTMLElement,
    lines: LineSpec[],
    options: { height?: number; yLabel?: string } = {},
  ) {
    const holder = document.createElement('div');
    holder.className = 'chart-canvas';
    figure.append(holder);
    const width = Math.max(200, holder.clientWidth || figure.clientWidth);
    this.plot = new uPlot(
      {
        width,
        height: options.height ?? 200,
        scales: { x: { time: true }, y: { range: (_u, min, max) => [Math.min(0, min), Math.max(1, max)] } },
        axes: [{}, { label: options.yLabel ?? '', size: 50 }],
        series: [
          {},
          ...lines.map((line) => ({
            label: line.label,
            stroke: line.color,
            width: 1.5,
            ...(line.fill && { fill: line.fill }),
            spanGaps: false,
          })),
        ],
      },
      [[], ...lines.map(() => [])],
      holder,
    );
    new ResizeObserver(() => {
      const w = Math.max(200, holder.clientWidth);
      if (Math.abs(w - this.plot.width) > 2) this.plot.setSize({ width: w, height: this.plot.height });
    }).observe(holder);
  }

  /**
   * `x` in epoch seconds; one array per line; `range` fixes the time axis (else it fits the data).
   * `data-points` and `data-total` tell tests (and readers) what is drawn.
   */
  setData(x: number[], ys: Array<Array<number | null>>, range?: [number, number]): void {
    this.plot.setData([x, ...ys], range === undefined);
    if (range) {
      this.plot.setScale('x', { min: range[0], max: range[1] });
      this.plot.setScale('y', { min: 0, max: Math.max(1, ...ys.flat().map((v) => v ?? 0)) * 1.05 });
    }
    const total = ys.reduce((sum, y) => sum + y.reduce<number>((s, v) => s + (v ?? 0), 0), 0);
    this.figure.dataset.points = String(x.length);
    this.figure.dataset.total = String(Math.round(total * 1000) / 1000);
  }
}

/** Bucket start times for a series that begins at `start` with `length` buckets of `interval` seconds. */
export function bucketTimes(start: number, interval: number, length: number): number[] {
  return Array.from({ length }, (_, i) => start + i * interval);
}
