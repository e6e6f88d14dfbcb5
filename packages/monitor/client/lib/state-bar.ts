import { place, svg } from './svg.ts';

/** Task states in the order of a task's life, each with its color (as the state badges). */
const ORDER = ['PENDING', 'RECEIVED', 'STARTED', 'RETRY', 'SUCCESS', 'FAILURE', 'REVOKED', 'REJECTED'];

/** The tasks in memory by state as one stacked bar (SVG), with a count per state in the legend. */
export function drawStateBar(figure: HTMLElement, states: Record<string, number>): void {
  const names = [...ORDER.filter((s) => states[s]), ...Object.keys(states).filter((s) => !ORDER.includes(s))];
  const total = names.reduce((sum, s) => sum + (states[s] ?? 0), 0);
  figure.dataset.total = String(total);
  const chart = svg('svg', {
    class: 'state-bar',
    viewBox: '0 0 1000 30',
    preserveAspectRatio: 'none',
    role: 'img',
    'aria-label': 'tasks by state',
  });
  let x = 0;
  for (const state of names) {
    const w = total ? (1000 * (states[state] ?? 0)) / total : 0;
    const rect = svg('rect', { x, y: 0, width: w, height: 30, class: `seg state-${state}` });
    rect.append(svg('title', {}, `${state}: ${states[state]}`));
    chart.append(rect);
    x += w;
  }
  place(figure, 'svg.state-bar', chart);
  let legend = figure.querySelector<HTMLElement>('.state-legend');
  if (!legend) {
    legend = document.createElement('p');
    legend.className = 'state-legend';
    figure.append(legend);
  }
  legend.replaceChildren(
    ...names.map((state) => {
      const item = document.createElement('span');
      item.className = `state state-${state}`;
      item.textContent = `${state} ${states[state]}`;
      return item;
    }),
  );
}
