import type { MessagePort } from 'node:worker_threads';
import { Ignore, Reject } from '../task/errors.ts';
import type { RetryOptions } from '../task/context.ts';

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
  /** Receives `{abort: SerializedError}` when the task's signal fires (soft time limit, shutdown). */
  port?: MessagePort;
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

export type ThreadOutcome =
  | { kind: 'ok'; value: unknown }
  | { kind: 'error'; error: SerializedError }
  | { kind: 'retry'; options: Omit<RetryOptions, 'exc'> & { exc?: SerializedError } }
  | { kind: 'loaded'; tasks: string[] };

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
