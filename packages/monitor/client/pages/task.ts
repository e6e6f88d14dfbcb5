import { formatTime } from '../lib/format.ts';
import { onLive } from '../lib/live.ts';
import { fillTask } from '../lib/task-table.ts';
import { drawTaskTimeline, type TaskTimes } from '../lib/task-timeline-chart.ts';
import type { LiveTask } from '../lib/types.ts';

function appendTimelineRow(table: HTMLTableElement, task: LiveTask): void {
  const event = task.lastEvent;
  const key = event && `${event.type}@${event.timestamp}`;
  if (!event || !key || table.querySelector(`tr[data-key="${CSS.escape(key)}"]`)) return;
  const row = table.tBodies[0]?.insertRow();
  if (!row) return;
  row.dataset.key = key;
  for (const text of [event.type, formatTime(event.timestamp), event.hostname])
    row.insertCell().textContent = text;
}

/** Task detail: fields, timeline rows and chart follow the task live; graph nodes take new states. */
export function init(page: string): void {
  if (page !== 'task') return;
  const detail = document.querySelector<HTMLElement>('table.detail[data-uuid]');
  const uuid = detail?.dataset.uuid;
  if (!uuid) return;
  const figure = document.querySelector<HTMLElement>('figure[data-chart="task-timeline"]');
  const timeline = document.querySelector<HTMLTableElement>('table#timeline');
  const graph = document.querySelector<SVGElement>('svg.workflow');
  if (figure?.dataset.times) drawTaskTimeline(figure, JSON.parse(figure.dataset.times) as TaskTimes);

  onLive('task', (tasks) => {
    for (const task of tasks) {
      graph?.querySelectorAll<SVGElement>(`[data-uuid="${CSS.escape(task.uuid)}"]`).forEach((node) => {
        for (const cls of Array.from(node.classList))
          if (cls.startsWith('state-')) node.classList.remove(cls);
        node.classList.add(`state-${task.state}`);
        node.dataset.state = task.state;
      });
      if (task.uuid !== uuid) continue;
      fillTask(document, task, true);
      if (timeline) appendTimelineRow(timeline, task);
      if (figure) drawTaskTimeline(figure, task);
    }
  });
}
