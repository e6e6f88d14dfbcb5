import { formatDuration, formatTime } from './format.ts';
import { place, svg } from './svg.ts';
import type { LiveTask } from './types.ts';

/** The times a task went through (epoch seconds), as the task record has them. */
export type TaskTimes = Pick<
  LiveTask,
  'sent' | 'received' | 'started' | 'succeeded' | 'failed' | 'retried' | 'revoked' | 'rejected'
>;

const PHASES = [
  { from: 'sent', to: 'received', label: 'waiting in queue', cls: 'phase-queued' },
  { from: 'received', to: 'started', label: 'reserved by worker', cls: 'phase-reserved' },
  { from: 'started', to: 'done', label: 'running', cls: 'phase-running' },
] as const;
const BAR_Y = 30;
const BAR_H = 18;

/**
 * received → started → done as one bar of phases (SVG), with the time each took. "done" is
 * whichever of succeeded, failed, revoked, rejected came first. Drawn at the figure's pixel
 * width, so the text keeps its size on a phone and on a wide screen.
 */
export function drawTaskTimeline(figure: HTMLElement, times: TaskTimes): void {
  const ends = [times.succeeded, times.failed, times.revoked, times.rejected].filter(
    (t): t is number => t !== null,
  );
  const points: Array<[string, number | null]> = [
    ['sent', times.sent],
    ['received', times.received],
    ['started', times.started],
    ['done', ends.length ? Math.min(...ends) : null],
  ];
  const at = new Map(points);
  const known = points.map(([, t]) => t).filter((t): t is number => t !== null);
  figure.dataset.phases = '0';
  if (known.length < 2) return;
  const width = Math.max(280, figure.clientWidth - 24);
  const first = Math.min(...known);
  const span = Math.max(Math.max(...known) - first, 1e-6);
  const x = (t: number) => 12 + ((width - 24) * (t - first)) / span;
  const chart = svg('svg', {
    class: 'task-timeline',
    width,
    viewBox: `0 0 ${width} ${BAR_Y + BAR_H + 8 + 14 * PHASES.length}`,
    role: 'img',
    'aria-label': 'task timeline',
  });
  let drawn = 0;
  for (const phase of PHASES) {
    const from = at.get(phase.from);
    const to = at.get(phase.to);
    if (from === null || from === undefined || to === null || to === undefined) continue;
    const rect = svg('rect', {
      x: x(from),
      y: BAR_Y,
      width: Math.max(2, x(to) - x(from)),
      height: BAR_H,
      class: `phase ${phase.cls}`,
    });
    rect.append(svg('title', {}, `${phase.label}: ${formatDuration(to - from)}`));
    chart.append(rect);
    const y = BAR_Y + BAR_H + 14 * (drawn + 1);
    chart.append(svg('rect', { x: 12, y: y - 9, width: 10, height: 10, class: `phase ${phase.cls}` }));
    chart.append(svg('text', { x: 27, y, class: 'legend' }, `${phase.label}: ${formatDuration(to - from)}`));
    drawn++;
  }
  // Marks closer than a word apart (received and started in the same millisecond) take turns
  // between two label rows.
  let lastX = -Infinity;
  let row = 0;
  for (const [name, t] of points) {
    if (t === null) continue;
    row = x(t) - lastX < 64 ? 1 - row : 0;
    lastX = x(t);
    chart.append(
      svg('line', { x1: x(t), x2: x(t), y1: 12 + row * 12, y2: BAR_Y + BAR_H + 3, class: 'mark' }),
    );
    const anchor = x(t) < 40 ? 'start' : x(t) > width - 40 ? 'end' : 'middle';
    const label = svg('text', { x: x(t), y: 9 + row * 12, 'text-anchor': anchor, class: 'legend' }, name);
    label.append(svg('title', {}, formatTime(t)));
    chart.append(label);
  }
  figure.dataset.phases = String(drawn);
  place(figure, 'svg.task-timeline', chart);
}
