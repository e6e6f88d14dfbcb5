import { InvalidMessageError } from './errors.ts';
import type { ExceptionInfo } from '../result/meta.ts';
import type { RawMessage } from './types.ts';

/** 10 MiB: the default of `taskMessageMaxBytes` and `resultMaxBytes`. */
export const DEFAULT_MAX_BYTES = 10 * 1024 * 1024;

/**
 * A task message body over `taskMessageMaxBytes`. Thrown by `delay()`/`applyAsync()`/`sendTask()`
 * before anything is published; a worker rejects (dead-letters) such a message with this reason.
 * It is an InvalidMessageError so the worker's "rejected invalid message" path handles it.
 */
export class MessageTooLargeError extends InvalidMessageError {
  override readonly code: string = 'MESSAGE_TOO_LARGE';
  constructor(
    readonly taskName: string,
    readonly taskId: string,
    readonly bytes: number,
    readonly limitBytes: number,
  ) {
    super(
      `task message ${taskName}[${taskId}] is ${formatBytes(bytes)}, over taskMessageMaxBytes (${formatBytes(limitBytes)}): ` +
        'pass a reference (a URL, a row id) instead of the data, or raise the limit',
    );
    this.name = 'MessageTooLargeError';
  }
}

/**
 * A compressed task message body that inflates past `taskMessageMaxBytes` (a decompression bomb, or
 * just too much data): decompression stopped at the limit. The worker dead-letters it with this reason.
 */
export class InflatedTooLargeError extends InvalidMessageError {
  override readonly code: string = 'MESSAGE_TOO_LARGE';
  constructor(
    message: RawMessage,
    readonly compression: string,
    readonly limitBytes: number,
  ) {
    const { name, id } = describeMessage(message);
    super(
      `task message ${name}[${id}] is ${formatBytes(message.body.length)} of ${compression} that inflates past ` +
        `taskMessageMaxBytes (${formatBytes(limitBytes)}); decompression was stopped there`,
    );
    this.name = 'InflatedTooLargeError';
  }
}

function describeMessage(message: RawMessage): { name: string; id: string } {
  const headers = message.properties.headers ?? {};
  return {
    name: typeof headers.task === 'string' ? headers.task : 'unknown task',
    id: (typeof headers.id === 'string' && headers.id) || message.properties.correlationId || 'unknown id',
  };
}

/** Throws MessageTooLargeError when the body is over `limitBytes` (null: no limit). */
export function checkTaskMessageSize(message: RawMessage, limitBytes: number | null): void {
  if (limitBytes === null || message.body.length <= limitBytes) return;
  const { name, id } = describeMessage(message);
  throw new MessageTooLargeError(name, id, message.body.length, limitBytes);
}

/**
 * Returns the exception a worker stores (as FAILURE) instead of a result whose JSON is over
 * `limitBytes`, or undefined when it fits. Cheap for the common case: numbers, booleans and short
 * strings are never encoded here; anything else is measured as JSON, as the backends will write it.
 */
export function oversizedResult(
  taskId: string,
  result: unknown,
  limitBytes: number | null,
): ExceptionInfo | undefined {
  if (limitBytes === null || result === null || result === undefined) return undefined;
  if (typeof result === 'number' || typeof result === 'boolean') return undefined;
  // A UTF-16 code unit is at most 3 bytes of UTF-8 (plus quotes and escapes, at most 6 for control chars).
  if (typeof result === 'string' && result.length * 6 + 2 <= limitBytes) return undefined;
  let bytes: number;
  try {
    const json = JSON.stringify(result);
    if (json === undefined) return undefined;
    bytes = Buffer.byteLength(json, 'utf8');
  } catch {
    return undefined; // not encodable: the backend's ResultEncodeError path stores the reason
  }
  if (bytes <= limitBytes) return undefined;
  return {
    exc_type: 'ResultTooLargeError',
    exc_message: [
      `the result of task ${taskId} is ${formatBytes(bytes)} as JSON, over resultMaxBytes (${formatBytes(limitBytes)}): ` +
        'store large outputs elsewhere (a file, a bucket, a table) and return a reference, or raise the limit',
    ],
    exc_module: 'celeriac',
  };
}

function formatBytes(n: number): string {
  if (n >= 1024 * 1024) return `${(n / (1024 * 1024)).toFixed(n % (1024 * 1024) === 0 ? 0 : 1)} MiB`;
  if (n >= 1024) return `${(n / 1024).toFixed(n % 1024 === 0 ? 0 : 1)} KiB`;
  return `${n} bytes`;
}
