import { html } from 'hono/html';
import type { StatsSnapshot } from '../state/time-series.ts';
import type { TaskRecord } from '../state/task-state.ts';
import type { Html } from './layout.ts';

/** Seconds as `850 ms`, `1.2 s`, `3 min` (as the browser code writes them). */
function duration(seconds: number): string {
  if (seconds < 1) return `${(seconds * 1000).toPrecision(3)} ms`;
  if (seconds < 120) return `${seconds.toPrecision(3)} s`;
  return `${(seconds / 60).toFixed(1)} min`;
}

/**
 * The Dashboard's chart frames. The browser bundle draws into them (uPlot canvases, SVG) from
 * `/api/stats`; without JavaScript the percentile table below still says what matters.
 */
export function dashboardCharts(stats: StatsSnapshot): Html {
  return html`<section class="charts" aria-label="charts">
    <figure class="chart" data-chart="throughput">
      <figcaption>Tasks finished per second, last 15 min</figcaption>
    </figure>
    <figure class="chart" data-chart="throughput-24h">
      <figcaption>Tasks finished per minute, last 24 h</figcaption>
    </figure>
    <figure class="chart" data-chart="runtimes">
      <figcaption>Runtime percentiles per task</figcaption>
      <div class="table-scroll">
        <table class="runtimes">
          <thead>
            <tr>
              <th>Task</th>
              <th>Runs</th>
              <th>p50</th>
              <th>p90</th>
              <th>p99</th>
              <th>max</th>
            </tr>
          </thead>
          <tbody>
            ${stats.runtimes.map(
              (r) =>
                html`<tr>
                  <td>${r.name}</td>
                  <td>${r.count}</td>
                  <td>${duration(r.p50)}</td>
                  <td>${duration(r.p90)}</td>
                  <td>${duration(r.p99)}</td>
                  <td>${duration(r.max)}</td>
                </tr>`,
            )}
          </tbody>
        </table>
      </div>
    </figure>
    <figure class="chart" data-chart="states">
      <figcaption>Tasks in memory by state</figcaption>
    </figure>
  </section>`;
}

/** The Workers page's charts (drawn by the browser bundle from `/api/stats`). */
export function workerCharts(): Html {
  return html`<section class="charts" aria-label="charts">
    <figure class="chart" data-chart="worker-load">
      <figcaption>Load average (1 min) per worker, last 15 min</figcaption>
    </figure>
    <figure class="chart" data-chart="worker-processed">
      <figcaption>Tasks processed per minute per worker</figcaption>
    </figure>
  </section>`;
}

/** The frame for the task's received → started → done bar; its times travel as JSON in an attribute. */
export function taskTimelineFigure(task: TaskRecord): Html {
  const times = {
    sent: task.sent,
    received: task.received,
    started: task.started,
    succeeded: task.succeeded,
    failed: task.failed,
    retried: task.retried,
    revoked: task.revoked,
    rejected: task.rejected,
  };
  return html`<figure class="chart" data-chart="task-timeline" data-times="${JSON.stringify(times)}">
    <figcaption>sent → received → started → done</figcaption>
  </figure>`;
}
