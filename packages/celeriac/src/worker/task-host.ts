import { runAsParent, type ParentTask } from '../canvas/parent-task.ts';
import { loadApp } from '../cli/load-app.ts';
import type { RetryOptions, TaskContext } from '../task/context.ts';
import type { BoundTaskFunction, TaskFunction } from '../task/task.ts';
import {
  serializeError,
  type SerializedError,
  type ThreadCall,
  type ThreadContextData,
  type ThreadOutcome,
} from './thread-protocol.ts';

/**
 * Runs tasks by name inside a worker thread or a child process: loads the app module once (its
 * tasks register as they do in the main thread). A module that throws on import fails every call
 * with that error, which the pool reports at start.
 */
export function createTaskHost(
  appModule: string,
): (call: ThreadCall, signal: AbortSignal) => Promise<ThreadOutcome> {
  const appPromise = loadApp(appModule);
  appPromise.catch(() => undefined); // reported through the first call

  return async (call, signal) => {
    let app;
    try {
      app = await appPromise;
    } catch (error) {
      return { kind: 'error', error: loadError(appModule, error) };
    }
    if (call.kind === 'load') return { kind: 'loaded', tasks: [...app.tasks.keys()] };
    const task = app.tasks.get(call.name!);
    if (!task) {
      return {
        kind: 'error',
        error: {
          name: 'NotRegistered',
          excType: 'NotRegistered',
          excModule: 'celery.exceptions',
          message: `${call.name} is not registered when ${appModule} loads in a pool thread or process`,
        },
      };
    }
    // What the body sends gets this request as parent and root, and is listed in its `children`.
    const parent: ParentTask | undefined = call.lineage && {
      id: call.lineage.id,
      headers: { root_id: call.lineage.rootId },
      children: undefined,
    };
    const outcome = parent
      ? await runAsParent(parent, () => execute(task, call, signal))
      : await execute(task, call, signal);
    return parent?.children ? { ...outcome, children: parent.children } : outcome;
  };
}

async function execute(task: { fn: unknown }, call: ThreadCall, signal: AbortSignal): Promise<ThreadOutcome> {
  try {
    const args = call.args ?? [];
    const value = call.ctx
      ? await (task.fn as BoundTaskFunction<unknown[], unknown>)(hostContext(call.ctx, signal), ...args)
      : await (task.fn as TaskFunction<unknown[], unknown>)(...args);
    return { kind: 'ok', value };
  } catch (thrown) {
    let error = thrown;
    // `throw ctx.retry(...)` throws the promise itself.
    if (error instanceof Promise)
      error = await error.then(
        () => new Error('a task threw a promise'),
        (e: unknown) => e,
      );
    if (error instanceof RetryRequest) {
      const { exc, ...rest } = error.options;
      return { kind: 'retry', options: exc === undefined ? rest : { ...rest, exc: serializeError(exc) } };
    }
    return { kind: 'error', error: serializeError(error) };
  }
}

/** `ctx.retry()` away from the main thread: the worker republishes; this only carries the options out. */
class RetryRequest {
  constructor(readonly options: RetryOptions) {}
}

function hostContext(data: ThreadContextData, signal: AbortSignal): TaskContext {
  return {
    ...data,
    signal,
    retry(options: RetryOptions = {}): Promise<never> {
      const rejected = Promise.reject(new RetryRequest(options));
      rejected.catch(() => undefined);
      return rejected;
    },
  } as TaskContext;
}

function loadError(appModule: string, error: unknown): SerializedError {
  const cause = error instanceof Error ? ((error.cause as Error | undefined) ?? error) : undefined;
  return {
    name: 'TaskModuleLoadError',
    message: `${appModule} failed to load in a pool thread or process: ${cause?.message ?? String(error)}`,
    stack: cause?.stack,
  };
}
