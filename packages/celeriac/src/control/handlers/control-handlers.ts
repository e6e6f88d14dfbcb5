import { NO_REPLY, ok, type ControlContext, type ControlHandler } from '../control-panel.ts';

/**
 * The commands that change a worker (`celery control ...`) and need nothing beyond
 * WorkerIntrospection. The worker runtime adds the rest (rate_limit, time_limit, pool_grow, ...).
 */
export const CONTROL_HANDLERS: ReadonlyArray<readonly [string, ControlHandler]> = [
  ['revoke', (ctx, args) => revoke(ctx, args.task_id, args.terminate === true, args.signal)],
  ['terminate', (ctx, args) => revoke(ctx, args.task_id, true, args.signal)],
  [
    'shutdown',
    (ctx, args) => {
      ctx.logger.warn(typeof args.msg === 'string' ? args.msg : 'Got shutdown from remote');
      ctx.worker.shutdown();
      // Celery raises WorkerShutdown before replying, so callers see no reply.
      return NO_REPLY;
    },
  ],
];

/** celery/worker/control.py `revoke`: flag the ids; with terminate, stop the running ones. */
function revoke(ctx: ControlContext, taskId: unknown, terminate: boolean, signal: unknown): { ok: string } {
  const ids = [
    ...new Set(
      (Array.isArray(taskId) ? taskId : [taskId]).filter(
        (id): id is string => typeof id === 'string' && id !== '',
      ),
    ),
  ];
  if (ids.length === 0) throw new TypeError('revoke needs task_id: a task id or a list of ids');
  const signalName = typeof signal === 'string' && signal ? signal : 'SIGTERM';
  const running = terminate ? new Set(ctx.worker.active().map((r) => r.id)) : new Set<string>();
  ctx.worker.revoke(ids, { terminate, signal: signalName });
  if (terminate) {
    const terminated = ids.filter((id) => running.has(id));
    ctx.logger.info({ ids: terminated, signal: signalName }, 'terminating revoked tasks');
    return ok(terminated.length === 0 ? 'terminate: tasks unknown' : `terminate: ${terminated.join(', ')}`);
  }
  ctx.logger.info({ ids }, `Tasks flagged as revoked: ${ids.join(', ')}`);
  return ok(`tasks ${ids.join(', ')} flagged as revoked`);
}
