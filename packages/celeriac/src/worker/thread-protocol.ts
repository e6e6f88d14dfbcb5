import type { MessagePort } from 'node:worker_threads';
import { Ignore, Reject } from '../task/errors.ts';
import type { RetryOptions } from '../task/context.ts';
import type { RequestContext } from './request.ts';

/**
 * Messages between the threads pool and its threads. Everything crosses by structured clone;
 * errors are flattened to plain fields so their class name and Celery identity survive.
 */
export interface ThreadCall {
  kind: 'call' | 'load';
  name?: string;
  args?: unknown[];
  /** The bound task's context, as plain data. */
  ctx?: ThreadContextData;
  /** The request's id and root: what the task sends from its body gets them as parent and root. */
  lineage?: { id: string; rootId: string };
  /** Receives `{abort: SerializedError}` when the task's signal fires (soft time limit, shutdown). */
  port?: MessagePort;
  /** With `load`: the slot's port for the thread's life; its abort messages name the call's `seq`. */
  control?: MessagePort;
  /** Numbers calls on one slot, so a late abort cannot reach the next task. */
  seq?: number;
}

export interface ThreadContextData {
  id: string;
  name: string;
  retries: number;
  args: readonly unknown[];
  kwargs: Readonly<Record<string, unknown>>;
  rootId: string;
  parentId: string | null;
  groupId: string | null;
  eta: string | null;
  expires: string | null;
  headers: Readonly<Record<string, unknown>>;
  hostname: string;
  deliveryInfo: { exchange: string; routingKey: string; redelivered: boolean; priority: number | undefined };
}

export type ThreadOutcome = (
  | { kind: 'ok'; value: unknown }
  | { kind: 'error'; error: SerializedError }
  | { kind: 'retry'; options: Omit<RetryOptions, 'exc'> & { exc?: SerializedError } }
  | { kind: 'loaded'; tasks: string[] }
) & {
  /** The thread that ran it (`inspect stats` lists them as the pool's processes). */
  threadId?: number;
  /** The thread's heap + external memory after the call (maxMemoryPerChild). */
  memoryBytes?: number;
  /** Result tuples of what the task sent from its body, for the request's stored `children`. */
  children?: unknown[];
};

export interface SerializedError {
  name: string;
  message: string;
  stack?: string;
  excType?: string;
  excModule?: string;
  code?: unknown;
  requeue?: boolean;
}

export function serializeError(error: unknown): SerializedError {
  if (!(error instanceof Error)) return { name: 'Error', message: String(error) };
  const e = error as Error & Partial<SerializedError>;
  const out: SerializedError = { name: e.name, message: e.message, stack: e.stack };
  if (typeof e.excType === 'string') out.excType = e.excType;
  if (typeof e.excModule === 'string') out.excModule = e.excModule;
  if (e.code !== undefined) out.code = e.code;
  if (error instanceof Reject) out.requeue = error.requeue;
  return out;
}

/** Back to an Error the runner understands: Reject and Ignore keep their meaning, others their identity. */
export function deserializeError(data: SerializedError): Error {
  if (data.excType === 'Reject') return new Reject(data.message, data.requeue === true);
  if (data.excType === 'Ignore') return new Ignore(data.message);
  const error = new Error(data.message) as Error & Partial<SerializedError>;
  error.name = data.name;
  if (data.stack) error.stack = data.stack;
  if (data.excType) error.excType = data.excType;
  if (data.excModule) error.excModule = data.excModule;
  if (data.code !== undefined) error.code = data.code;
  return error;
}

/** The bound task's context as plain data, to rebuild it in a thread or child. */
export function contextData(ctx: RequestContext): ThreadContextData {
  return {
    id: ctx.id,
    name: ctx.name,
    retries: ctx.retries,
    args: ctx.args,
    kwargs: ctx.kwargs,
    rootId: ctx.rootId,
    parentId: ctx.parentId,
    groupId: ctx.groupId,
    eta: ctx.eta,
    expires: ctx.expires,
    headers: ctx.headers as unknown as Record<string, unknown>,
    hostname: ctx.hostname,
    deliveryInfo: ctx.deliveryInfo,
  };
}
