import { html } from 'hono/html';
import type { ClusterState } from '../state/cluster-state.ts';
import type { TaskPage, TaskQuery } from '../state/task-query.ts';
import type { TaskRecord } from '../state/task-state.ts';
import { isAlive } from '../state/worker-state.ts';
import { clip, formatRuntime, formatTime, layout, type Html, type PageContext } from './layout.ts';
import { taskPager } from './task-pager.ts';
import { dashboardCharts, taskTimelineFigure } from './charts.ts';
import { workerTable } from './worker-list.ts';
import { workflowGraph, type WorkflowNode } from './workflow-graph.ts';
import { timeSeriesFor } from '../state/time-series.ts';

// The Workers page and the workers table live in worker-*.ts.
export { workersPage, workerTable } from './worker-list.ts';

const STATES = ['PENDING', 'RECEIVED', 'STARTED', 'SUCCESS', 'FAILURE', 'RETRY', 'REVOKED', 'REJECTED'];

export function dashboardPage(ctx: PageContext, state: ClusterState): Html {
  const workers = state.workerList();
  const online = workers.filter((w) => isAlive(w)).length;
  const counts = state.stateCounts();
  return layout(
    ctx,
    'Dashboard',
    'dashboard',
    html`<section class="cards">
        <div class="card"><span class="n" id="workers-online">${online}</span> workers online</div>
        <div class="card"><span class="n" id="workers-offline">${workers.length - online}</span> offline</div>
        ${STATES.map((s) => html`<div class="card state-${s}"><span class="n" data-count="${s}">${counts[s] ?? 0}</span> ${s}</div>`)}
        <div class="card"><span class="n" id="events-total">${state.counts.events}</span> events</div>
      </section>
      ${dashboardCharts(timeSeriesFor(state).snapshot())}
      <h2>Workers</h2>
      ${workerTable(ctx, workers)}
      <h2>Latest tasks</h2>
      ${taskTable(ctx, [...take(state.tasksNewestFirst(), 20)], { live: true, rows: 20 })}`,
  );
}

export function tasksPage(ctx: PageContext, query: TaskQuery, page: TaskPage, workers: string[]): Html {
  const filtered = Boolean(
    query.state ||
    query.taskname ||
    query.workername ||
    query.search ||
    query.received_start ||
    query.received_end,
  );
  return layout(
    ctx,
    'Tasks',
    'tasks',
    html`<form class="filters" method="get" action="${ctx.base}/tasks">
        <label
          >State
          <select name="state">
            <option value="">any</option>
            ${STATES.map((s) => html`<option ${query.state === s ? 'selected' : ''}>${s}</option>`)}
          </select></label
        >
        <label>Name <input name="taskname" value="${query.taskname ?? ''}" /></label>
        <label
          >Worker
          <select name="workername">
            <option value="">any</option>
            ${workers.map((w) => html`<option ${query.workername === w ? 'selected' : ''}>${w}</option>`)}
          </select></label
        >
        <label>Search (id, args) <input name="search" value="${query.search ?? ''}" /></label>
        <label>Received after <input name="received_start" type="datetime-local" step="1" /></label>
        <label>before <input name="received_end" type="datetime-local" step="1" /></label>
        <label
          >Per page
          <select name="limit">
            ${[25, 50, 100, 250, 500, 1000].map((n) => html`<option ${query.limit === n ? 'selected' : ''}>${n}</option>`)}
          </select></label
        >
        <button type="submit">Filter</button>
      </form>
      ${taskPager(ctx, query, page)}
      ${taskTable(ctx, page.tasks, {
        live: page.offset === 0 && !filtered && !query.after && !query.before,
        rows: query.limit,
      })}`,
  );
}

export function taskDetailPage(ctx: PageContext, task: TaskRecord, workflow: WorkflowNode[] = []): Html {
  const row = (label: string, field: string, value: unknown) =>
    html`<tr>
      <th>${label}</th>
      <td data-field="${field}">${value === null || value === undefined ? '—' : String(value)}</td>
    </tr>`;
  return layout(
    ctx,
    `Task ${task.name ?? task.uuid}`,
    'task',
    html`<table class="detail" data-uuid="${task.uuid}">
        ${row('UUID', 'uuid', task.uuid)} ${row('Name', 'name', task.name)}
        <tr>
          <th>State</th>
          <td><span data-field="state" class="state state-${task.state}">${task.state}</span></td>
        </tr>
        ${row('Worker', 'worker', task.worker)} ${row('Retries', 'retries', task.retries)}
        ${row('ETA', 'eta', task.eta)} ${row('Expires', 'expires', task.expires)}
        ${row('Parent', 'parent_id', task.parent_id)} ${row('Root', 'root_id', task.root_id)}
        ${row('Received', 'received', formatTime(task.received))}
        ${row('Started', 'started', formatTime(task.started))}
        ${row('Runtime', 'runtime', formatRuntime(task.runtime))}
      </table>
      <h2>Arguments</h2>
      <h3>args</h3>
      <pre data-field="args">${task.args ?? '—'}</pre>
      <h3>kwargs</h3>
      <pre data-field="kwargs">${task.kwargs ?? '—'}</pre>
      <h2>Result</h2>
      <pre data-field="result">${task.result ?? '—'}</pre>
      ${
        task.exception
          ? html`<h2>Exception</h2>
              <pre data-field="exception">${task.exception}</pre>`
          : ''
      }
      ${
        task.traceback
          ? html`<h2>Traceback</h2>
              <pre data-field="traceback">${task.traceback}</pre>`
          : ''
      }
      <h2>Timeline</h2>
      ${taskTimelineFigure(task)}
      <table class="list" id="timeline">
        <thead>
          <tr>
            <th>Event</th>
            <th>Time (UTC)</th>
            <th>Worker</th>
          </tr>
        </thead>
        <tbody>
          ${task.timeline.map(
            (e) =>
              html`<tr data-key="${e.type}@${e.timestamp}">
                <td>${e.type}</td>
                <td>${formatTime(e.timestamp)}</td>
                <td>${e.hostname}</td>
              </tr>`,
          )}
        </tbody>
      </table>
      <h2>Workflow</h2>
      ${workflowGraph(ctx, task.uuid, workflow)}
      <h2>Control</h2>
      <form data-api="${ctx.base}/api/task/revoke/${encodeURIComponent(task.uuid)}" class="control">
        <label><input type="checkbox" name="terminate" value="true" /> terminate if running</label>
        <button type="submit">Revoke</button> <output></output>
      </form>
      <form data-api="${ctx.base}/api/task/retry/${encodeURIComponent(task.uuid)}" class="retry">
        <button type="submit">Retry (send again)</button> <output></output>
      </form>`,
  );
}

export function taskTable(
  ctx: PageContext,
  tasks: TaskRecord[],
  options: { live?: boolean; rows?: number } = {},
): Html {
  return html`<div class="table-scroll">
    <table
      class="list"
      id="tasks"
      data-live="${options.live ? 'true' : 'false'}"
      data-rows="${options.rows ?? 100}"
    >
      <thead>
        <tr>
          <th>Name</th>
          <th>UUID</th>
          <th>State</th>
          <th>args</th>
          <th>kwargs</th>
          <th>Result</th>
          <th>Received (UTC)</th>
          <th>Runtime</th>
          <th>Worker</th>
        </tr>
      </thead>
      <tbody>
        ${tasks.map(
          (t) =>
            html`<tr data-uuid="${t.uuid}">
              <td data-field="name">${t.name ?? '—'}</td>
              <td><a href="${ctx.base}/task/${encodeURIComponent(t.uuid)}">${t.uuid}</a></td>
              <td><span data-field="state" class="state state-${t.state}">${t.state}</span></td>
              <td data-field="args">${clip(t.args)}</td>
              <td data-field="kwargs">${clip(t.kwargs)}</td>
              <td data-field="result">${clip(t.result ?? t.exception)}</td>
              <td data-field="received">${formatTime(t.received)}</td>
              <td data-field="runtime">${formatRuntime(t.runtime)}</td>
              <td data-field="worker">${t.worker ?? '—'}</td>
            </tr>`,
        )}
      </tbody>
    </table>
  </div>`;
}

function* take<T>(items: Iterable<T>, n: number): Iterable<T> {
  if (n <= 0) return;
  for (const item of items) {
    yield item;
    if (--n <= 0) return;
  }
}
