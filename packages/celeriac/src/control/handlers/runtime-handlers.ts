import type { QueueSpec } from '../../transports/transport.ts';
import { hasPoolControl, hasRuntimeControl } from '../../worker/introspection.ts';
import { nok, ok, type ControlContext, type ControlHandler } from '../control-panel.ts';
import { recordTaskLimits } from './task-limit-overrides.ts';

/**
 * The commands that change how a running worker runs tasks (celery/worker/control.py
 * `rate_limit`, `time_limit`), with Celery's reply texts. Errors are replies, never crashes.
 */
export const RUNTIME_HANDLERS: ReadonlyArray<readonly [string, ControlHandler]> = [
  ['rate_limit', rateLimit],
  ['time_limit', timeLimit],
  ['pool_grow', (ctx, args) => resize(ctx, count(args.n), 'grow')],
  ['pool_shrink', (ctx, args) => resize(ctx, -count(args.n), 'shrink')],
  ['autoscale', autoscale],
  ['add_consumer', addConsumer],
  ['cancel_consumer', cancelConsumer],
];

/** celery/worker/control.py `autoscale`: new bounds; an omitted one is kept. */
function autoscale(ctx: ControlContext, args: Record<string, unknown>): unknown {
  const worker = ctx.worker;
  const scaler = hasPoolControl(worker) ? worker.autoscaler : undefined;
  if (!scaler) return nok('Autoscale not enabled');
  const max = args.max === undefined || args.max === null ? scaler.max : Number(args.max);
  const min = args.min === undefined || args.min === null ? scaler.min : Number(args.min);
  try {
    scaler.update(max, min);
  } catch (error) {
    return nok((error as Error).message);
  }
  return ok(`autoscale now max=${max} min=${min}`);
}

/** `n` of pool_grow/pool_shrink: a positive integer, 1 when absent. */
function count(n: unknown): number {
  if (n === undefined || n === null) return 1;
  const value = typeof n === 'string' ? Number(n) : n;
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 1)
    throw new TypeError(`n must be a positive integer, got ${JSON.stringify(n)}`);
  return value;
}

function resize(ctx: ControlContext, delta: number, what: 'grow' | 'shrink'): unknown {
  const worker = ctx.worker;
  if (!hasPoolControl(worker)) return nok('this worker cannot resize its pool');
  try {
    worker.resizePool(delta);
  } catch (error) {
    return nok((error as Error).message);
  }
  return ok(`pool will ${what}`);
}

/** celery/worker/control.py `add_consumer`: exchange and routing key default to the queue name. */
async function addConsumer(ctx: ControlContext, args: Record<string, unknown>): Promise<unknown> {
  const worker = ctx.worker;
  if (!hasPoolControl(worker)) return nok('this worker cannot add consumers');
  const queue = args.queue;
  if (typeof queue !== 'string' || queue === '') return nok('add_consumer needs queue: a queue name');
  const str = (v: unknown): string | undefined => (typeof v === 'string' && v !== '' ? v : undefined);
  const exchangeType = str(args.exchange_type) ?? 'direct';
  if (!['direct', 'topic', 'fanout', 'headers'].includes(exchangeType))
    return nok(`exchange_type must be direct, topic, fanout or headers, got ${JSON.stringify(exchangeType)}`);
  const spec: QueueSpec =
    str(args.exchange) === undefined && str(args.routing_key) === undefined
      ? worker.app.queueSpec(queue)
      : {
          name: queue,
          durable: true,
          bindings: [
            {
              exchange: { name: str(args.exchange) ?? queue, type: exchangeType as 'direct', durable: true },
              routingKey: str(args.routing_key) ?? queue,
            },
          ],
        };
  if (!(await worker.addConsumer(spec))) return ok(`already consuming from ${JSON.stringify(queue)}`);
  return ok(`add consumer ${queue}`);
}

async function cancelConsumer(ctx: ControlContext, args: Record<string, unknown>): Promise<unknown> {
  const worker = ctx.worker;
  if (!hasPoolControl(worker)) return nok('this worker cannot cancel consumers');
  const queue = args.queue;
  if (typeof queue !== 'string' || queue === '') return nok('cancel_consumer needs queue: a queue name');
  await worker.cancelConsumer(queue);
  return ok(`no longer consuming from ${queue}`);
}

function rateLimit(ctx: ControlContext, args: Record<string, unknown>): unknown {
  const worker = ctx.worker;
  if (!hasRuntimeControl(worker)) return nok('this worker cannot change rate limits');
  const name = args.task_name;
  if (typeof name !== 'string' || !worker.app.tasks.has(name)) return nok('unknown task');
  const limit = args.rate_limit;
  try {
    worker.setRateLimit(name, limit);
  } catch (error) {
    return nok(`Invalid rate limit string: ${(error as Error).message}`);
  }
  const off = limit === null || limit === undefined || limit === '' || limit === 0 || limit === '0';
  recordTaskLimits(worker, name, { rate_limit: off ? null : limit });
  ctx.logger.info(
    { task: name, rateLimit: limit },
    `rate limit for ${name} set to ${off ? 'none' : String(limit)}`,
  );
  return ok(off ? 'rate limits disabled successfully' : 'new rate limit set successfully');
}

function timeLimit(ctx: ControlContext, args: Record<string, unknown>): unknown {
  const worker = ctx.worker;
  if (!hasRuntimeControl(worker)) return nok('this worker cannot change time limits');
  const name = args.task_name;
  if (typeof name !== 'string' || !worker.app.tasks.has(name)) return nok('unknown task');
  try {
    const soft = seconds(args.soft, 'soft');
    const hard = seconds(args.hard, 'hard');
    worker.setTimeLimits(name, { soft, hard });
    recordTaskLimits(worker, name, { time_limit: hard, soft_time_limit: soft });
    ctx.logger.info(
      { task: name, soft, hard },
      `New time limits for tasks of type ${name}: soft=${soft ?? 'none'} hard=${hard ?? 'none'}`,
    );
  } catch (error) {
    return nok((error as Error).message);
  }
  return ok('time limits set successfully');
}

/** Seconds as a number (the CLI sends floats; Python peers may send strings), null/0 for none. */
function seconds(value: unknown, what: string): number | null {
  if (value === null || value === undefined || value === 0 || value === '') return null;
  const n = typeof value === 'string' ? Number(value) : value;
  if (typeof n !== 'number' || !Number.isFinite(n) || n < 0)
    throw new TypeError(`${what} time limit must be a number of seconds, got ${JSON.stringify(value)}`);
  return n === 0 ? null : n;
}
