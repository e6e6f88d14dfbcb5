import type { ExceptionInfo } from './meta.ts';

/**
 * Turns anything a task threw into Celery's exception shape. JavaScript errors map to Python
 * builtins where one means the same thing, so a Python caller gets a class it can catch.
 */
export function toExceptionInfo(thrown: unknown): ExceptionInfo {
  if (thrown instanceof Error) {
    const pythonName = (thrown as { excType?: unknown }).excType;
    const module = (thrown as { excModule?: unknown }).excModule;
    if (typeof pythonName === 'string') {
      return {
        exc_type: pythonName,
        exc_message: [thrown.message],
        exc_module: String(module ?? 'builtins'),
      };
    }
    const builtin = JS_TO_PYTHON[thrown.name];
    if (builtin) return { exc_type: builtin, exc_message: [thrown.message], exc_module: 'builtins' };
    // Our own and user-defined error classes keep their name; Python synthesizes an unknown class.
    return { exc_type: thrown.name || 'Error', exc_message: [thrown.message], exc_module: 'celeriac' };
  }
  return { exc_type: 'Exception', exc_message: [describeThrown(thrown)], exc_module: 'builtins' };
}

/** Traceback text: the stack for errors, a one-line note for thrown non-errors. */
export function tracebackOf(thrown: unknown): string {
  if (thrown instanceof Error) return thrown.stack ?? `${thrown.name}: ${thrown.message}`;
  return `non-Error value thrown: ${describeThrown(thrown)}`;
}

function describeThrown(value: unknown): string {
  if (typeof value === 'string') return value;
  try {
    return JSON.stringify(value) ?? String(value);
  } catch {
    return String(value);
  }
}

const JS_TO_PYTHON: Record<string, string> = {
  Error: 'Exception',
  TypeError: 'TypeError',
  RangeError: 'ValueError',
  SyntaxError: 'ValueError',
  ReferenceError: 'NameError',
};

/** The error `AsyncResult.get()` throws for a FAILURE or REVOKED result, with the remote details. */
export class TaskError extends Error {
  readonly code = 'TASK_FAILED';
  constructor(
    readonly taskId: string,
    readonly excType: string,
    readonly excModule: string,
    readonly excMessage: unknown[],
    readonly remoteTraceback: string | null,
  ) {
    super(`${excType}: ${excMessage.map((m) => (typeof m === 'string' ? m : JSON.stringify(m))).join(', ')}`);
    this.name = excType;
  }
}
