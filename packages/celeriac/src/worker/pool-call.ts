import type { Request, RequestContext } from './request.ts';
import { contextData, deserializeError, type ThreadCall, type ThreadOutcome } from './thread-protocol.ts';

/**
 * What the threads and processes pools share around one task call: the message that asks the
 * thread or child to run it, and how its reply turns back into the task's result.
 */

/** The `call` message for `request`: task name, arguments, context as plain data and lineage. */
export function taskCall(request: Request, ctx: RequestContext | undefined, args: unknown[]): ThreadCall {
  return {
    kind: 'call',
    name: request.headers.task,
    args,
    ctx: ctx ? contextData(ctx) : undefined,
    lineage: { id: request.id, rootId: request.headers.root_id },
  };
}

/**
 * The task's result from the reply to a `call`: its value, its error rethrown, or its retry
 * requested through `ctx`; children it sent are added to the request. `from` names the runner
 * in the error for a reply of the wrong kind ("a worker thread", "a pool process").
 */
export function settleOutcome(
  request: Request,
  ctx: RequestContext | undefined,
  outcome: ThreadOutcome,
  from: string,
): unknown {
  if (outcome.children) (request.children ??= []).push(...outcome.children);
  switch (outcome.kind) {
    case 'ok':
      return outcome.value;
    case 'error':
      throw deserializeError(outcome.error);
    case 'retry': {
      const { exc, ...rest } = outcome.options;
      return ctx!.retry(exc ? { ...rest, exc: deserializeError(exc) } : rest);
    }
    default:
      throw new Error(`unexpected reply from ${from}: ${JSON.stringify(outcome)}`);
  }
}
