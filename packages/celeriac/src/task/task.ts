import type { Celeriac } from '../app/celeriac.ts';
import { Signature } from '../canvas/signature.ts';
import type { AsyncResult } from '../result/async-result.ts';
import type { TaskContext } from './context.ts';
import type { ApplyOptions, TaskOptions } from './options.ts';

/** The function behind a task: plain, or bound (context first) with `bind: true`. */
export type TaskFunction<A extends unknown[], R> = (...args: A) => R | Promise<R>;
export type BoundTaskFunction<A extends unknown[], R> = (ctx: TaskContext, ...args: A) => R | Promise<R>;

/**
 * A registered task. Producers get the argument and result types of the function:
 * `add.delay(2, 2)` type-checks the arguments and `await (await add.delay(2, 2)).get()` is a number.
 */
export class Task<A extends unknown[] = unknown[], R = unknown> {
  constructor(
    readonly app: Celeriac,
    readonly name: string,
    /** The function as registered; `options.bind` says whether it takes the context first. */
    readonly fn: TaskFunction<A, R> | BoundTaskFunction<A, R>,
    readonly options: Readonly<TaskOptions> = {},
  ) {}

  /** Sends the task with positional arguments; resolves once the broker confirmed it. */
  delay(...args: A): Promise<AsyncResult<R>> {
    return this.applyAsync(args);
  }

  /** Sends the task with arguments, keyword arguments (mapped by `params`) and call options. */
  applyAsync(
    args: A | [],
    kwargs: Record<string, unknown> = {},
    options: ApplyOptions = {},
  ): Promise<AsyncResult<R>> {
    return this.app.sendTask(this.name, args, kwargs, options) as Promise<AsyncResult<R>>;
  }

  /** A signature; in a chain the previous result is put in front of these arguments. */
  s(...args: Partial<A>): Signature<R> {
    return new Signature<R>(this.name, args, {}, {}, false, null, this.app);
  }

  /** An immutable signature: a chain does not pass the previous result to it. */
  si(...args: A): Signature<R> {
    return new Signature<R>(this.name, args, {}, {}, true, null, this.app);
  }

  /** Runs the function here and now, without a broker (for tests and local calls). */
  async call(ctx: TaskContext, args: readonly unknown[]): Promise<R> {
    return this.options.bind
      ? (this.fn as BoundTaskFunction<unknown[], R>)(ctx, ...args)
      : (this.fn as TaskFunction<unknown[], R>)(...args);
  }
}
