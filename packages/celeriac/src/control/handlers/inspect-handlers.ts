import type { RequestInfo } from '../../worker/introspection.ts';
import { ok, type ControlContext, type ControlHandler } from '../control-panel.ts';
import { celeriacVersion } from '../version.ts';
import { taskLimitOverrides } from './task-limit-overrides.ts';
import { bugReport, configTable, queueAsDict, workerStats } from './worker-info.ts';

/**
 * The read-only commands (`celery inspect ...`), with the reply shapes of
 * celery/worker/control.py (§7.4).
 */
export const INSPECT_HANDLERS: ReadonlyArray<readonly [string, ControlHandler]> = [
  ['ping', () => ok('pong')],
  ['stats', (ctx) => workerStats(ctx)],
  ['active', (ctx, args) => ctx.worker.active().map((info) => (args.safe ? safeInfo(info) : info))],
  ['reserved', (ctx) => ctx.worker.reserved()],
  ['scheduled', (ctx) => ctx.worker.scheduled()],
  ['revoked', (ctx) => ctx.worker.revoked()],
  ['registered', registered],
  ['active_queues', (ctx) => ctx.worker.queues().map(queueAsDict)],
  ['conf', (ctx) => configTable(ctx.worker.app.conf)],
  ['query_task', queryTask],
  ['clock', (ctx) => ({ clock: ctx.clock.value })],
  ['report', (ctx) => ok(bugReport(ctx, celeriacVersion()))],
  ['hello', hello],
];

/** With `safe`, args and kwargs are shown as their reprs (`Request.info(safe=True)`). */
function safeInfo(info: RequestInfo): RequestInfo {
  return { ...info, args: JSON.stringify(info.args), kwargs: JSON.stringify(info.kwargs) };
}

/** Task names, sorted, `celery.*` hidden unless `builtins`; `taskinfoitems` appends `[attr=value ...]`. */
function registered(ctx: ControlContext, args: Record<string, unknown>): string[] {
  const wanted =
    Array.isArray(args.taskinfoitems) && args.taskinfoitems.length > 0 ? args.taskinfoitems.map(String) : [];
  const names = [...ctx.worker.app.tasks.keys()]
    .filter((n) => args.builtins === true || !n.startsWith('celery.'))
    .sort();
  return names.map((name) => {
    const options = ctx.worker.app.tasks.get(name)?.options as Record<string, unknown> | undefined;
    const changed = taskLimitOverrides(ctx.worker, name);
    const fields = wanted
      .map(
        (item) => [item, changed && item in changed ? changed[item] : options?.[snakeToCamel(item)]] as const,
      )
      .filter(([, value]) => value !== undefined && value !== null)
      .map(([item, value]) => `${item}=${String(value)}`);
    return fields.length > 0 ? `${name} [${fields.join(' ')}]` : name;
  });
}

/** `{id: [state, info]}` for the ids this worker holds: `active`, or `reserved` (waiting or ETA). */
function queryTask(
  ctx: ControlContext,
  args: Record<string, unknown>,
): Record<string, [string, RequestInfo]> {
  const ids = new Set(
    (Array.isArray(args.ids) ? args.ids : [args.ids]).filter((id) => typeof id === 'string'),
  );
  const found: Record<string, [string, RequestInfo]> = {};
  for (const info of ctx.worker.active()) if (ids.has(info.id)) found[info.id] = ['active', info];
  const waiting = [...ctx.worker.reserved(), ...ctx.worker.scheduled().map((s) => s.request)];
  for (const info of waiting) if (ids.has(info.id) && !found[info.id]) found[info.id] = ['reserved', info];
  return found;
}

/**
 * Mingle's sync request (celery/worker/control.py `hello`): take the other node's revoked ids,
 * answer with ours and our clock; no answer to ourselves.
 */
function hello(ctx: ControlContext, args: Record<string, unknown>): unknown {
  if (args.from_node === ctx.hostname) return null;
  ctx.logger.info({ from: args.from_node }, `sync with ${String(args.from_node)}`);
  const theirs = args.revoked;
  const ids = Array.isArray(theirs)
    ? theirs
    : theirs && typeof theirs === 'object'
      ? Object.keys(theirs)
      : [];
  const newIds = ids.filter((id): id is string => typeof id === 'string');
  if (newIds.length > 0) ctx.worker.revoke(newIds, { terminate: false, signal: 'SIGTERM' });
  // Celery sends LimitedSet._data: {id: time revoked}; we only know the ids.
  const now = Date.now() / 1000;
  return {
    revoked: Object.fromEntries(ctx.worker.revoked().map((id) => [id, now])),
    clock: ctx.clock.forward(),
  };
}

function snakeToCamel(name: string): string {
  return name.replace(/_([a-z])/g, (_m, c: string) => c.toUpperCase());
}
