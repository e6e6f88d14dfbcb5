import { saferepr } from '../protocol/repr.ts';
import type { ExceptionInfo } from '../result/meta.ts';

/** `ZeroDivisionError('division by zero')`, as `safe_repr(exc)` reads in Celery's events. */
export function excRepr(info: ExceptionInfo): string {
  return `${info.exc_type}(${info.exc_message.map((m) => saferepr(m)).join(', ')})`;
}

export function isThenable(value: unknown): value is PromiseLike<unknown> {
  return (
    value !== null && typeof value === 'object' && typeof (value as { then?: unknown }).then === 'function'
  );
}
