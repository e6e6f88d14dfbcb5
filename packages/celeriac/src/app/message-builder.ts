import { encodeTaskMessage } from '../protocol/codec.ts';
import { argsRepr, saferepr } from '../protocol/repr.ts';
import type { RawMessage, SignatureDict, TaskHeaders } from '../protocol/types.ts';
import { lineage } from '../canvas/parent-task.ts';
import { toSignatureDict } from '../canvas/signature.ts';
import type { ApplyOptions, SignatureLike, TaskOptions } from '../task/options.ts';
import { uuid } from '../util/ids.ts';

/** The fields of one task call that end up on the wire. */
export interface TaskCall {
  name: string;
  args: readonly unknown[];
  kwargs: Readonly<Record<string, unknown>>;
  options: ApplyOptions;
  taskOptions: Readonly<TaskOptions> | undefined;
  origin: string;
  replyTo: string;
  priority: number | undefined;
  now?: number;
}

/** Builds a protocol v2 message with every §1.2 header, as `as_task_v2` does. */
export function buildTaskMessage(call: TaskCall): { id: string; message: RawMessage } {
  const { options, taskOptions } = call;
  const now = call.now ?? Date.now();
  const id = options.taskId ?? uuid();
  // Sent from inside a running task: its id and root, as Celery's `send_task` fills them.
  const { parentId, rootId } = lineage(options.parentId, options.rootId, id);
  const eta =
    options.eta !== undefined
      ? toIso(options.eta)
      : options.countdown !== undefined
        ? isoAt(now + options.countdown * 1000)
        : null;
  const expiresOption = options.expires ?? taskOptions?.expires;
  const expires =
    expiresOption === undefined
      ? null
      : typeof expiresOption === 'number'
        ? isoAt(now + expiresOption * 1000)
        : toIso(expiresOption);
  const headers: TaskHeaders = {
    ...options.headers,
    lang: 'py',
    task: call.name,
    id,
    shadow: options.shadow ?? null,
    eta,
    expires,
    group: options.groupId ?? null,
    group_index: options.groupIndex ?? null,
    retries: options.retries ?? 0,
    timelimit: [
      options.timeLimit ?? taskOptions?.timeLimit ?? null,
      options.softTimeLimit ?? taskOptions?.softTimeLimit ?? null,
    ],
    root_id: rootId,
    parent_id: parentId,
    argsrepr: argsRepr(call.args),
    kwargsrepr: saferepr(call.kwargs),
    origin: call.origin,
    ignore_result: options.ignoreResult ?? taskOptions?.ignoreResult ?? false,
  };
  const message = encodeTaskMessage({
    headers,
    args: call.args,
    kwargs: call.kwargs,
    embed: {
      callbacks: toDicts(options.link),
      errbacks: toDicts(options.linkError),
      chain: options.chain ? options.chain.map(toSignatureDict) : null,
      chord: options.chord ? toSignatureDict(options.chord) : null,
    },
    replyTo: options.replyTo ?? call.replyTo,
    priority: call.priority,
  });
  return { id, message };
}

function toDicts(sigs: SignatureLike | SignatureLike[] | undefined): SignatureDict[] | null {
  if (sigs === undefined) return null;
  return (Array.isArray(sigs) ? sigs : [sigs]).map(toSignatureDict);
}

/** ISO 8601 with `+00:00`, as Python's `isoformat()` of an aware UTC datetime. */
export function isoAt(ms: number): string {
  return new Date(ms).toISOString().replace(/\.(\d{3})Z$/, '.$1000+00:00');
}

function toIso(value: Date | string): string {
  if (value instanceof Date) return isoAt(value.getTime());
  if (Number.isNaN(Date.parse(value))) throw new RangeError(`not an ISO-8601 date: ${JSON.stringify(value)}`);
  return value;
}
