/**
 * @celeriac/monitor: the Flower-class dashboard for Celeriac and Celery clusters.
 *
 * @example
 * const monitor = new Monitor(app, { history: { url: 'sqlite:///var/lib/monitor.db' } });
 * await monitor.start();
 * const web = createMonitorApp(monitor, { auth: { users: { admin: await hashPassword('secret') } } });
 * serve({ fetch: web.fetch, port: 5555 });
 */
export { Monitor, type MonitorOptions, type WorkerInspection } from './monitor.ts';
export {
  createMonitorApp,
  MonitorConfigError,
  type MonitorAppOptions,
  type MonitorAuthOptions,
  type HomeLink,
} from './server/app.ts';
export { hashPassword, verifyPassword, isPasswordHash } from './server/auth.ts';
export { MonitorHttpError } from './server/errors.ts';
export {
  ClusterState,
  MalformedEventError,
  type ClusterStateOptions,
  type StateChange,
} from './state/cluster-state.ts';
export type { TaskRecord, TimelineEntry } from './state/task-state.ts';
export type { WorkerRecord } from './state/worker-state.ts';
export { queryTasks, type TaskQuery, type TaskPage } from './state/task-query.ts';
export { TaskHistory, HistoryConfigError, type TaskHistoryOptions } from './history/task-history.ts';
export { serveMonitor, authFromEnv, type ServeMonitorOptions } from './serve.ts';
export { type EditableScheduleStore, isEditable } from './periodic/editable-store.ts';
export {
  PeriodicTasks,
  ReadOnlyScheduleError,
  type PeriodicTaskView,
  type SaveResult,
} from './periodic/periodic-tasks.ts';
export { PERIODIC_FIELDS, type PeriodicFields, type FieldErrors } from './periodic/periodic-fields.ts';
export {
  QueueMonitor,
  queueMonitorFor,
  type QueueMonitorOptions,
  type QueueRow,
  type QueueSnapshot,
} from './queues/queue-monitor.ts';
export type { QueueProbe, QueueReading } from './queues/queue-probe.ts';
export { resultBrowser, type ResultBrowser } from './results/result-browser.ts';
