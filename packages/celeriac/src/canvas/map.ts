import type { Celeriac } from '../app/celeriac.ts';
import type { SignatureDict } from '../protocol/types.ts';
import type { TaskContext } from '../task/context.ts';
import type { ApplyOptions } from '../task/options.ts';
import { appOf } from './chain.ts';
import { group, type GroupResult } from './group.ts';
import { Signature, toSignatureDict } from './signature.ts';

/**
 * `xmap(add.s(), [[1, 2], ...])` is ONE message to `celery.map` that calls the task once per item in
 * the worker (celery/canvas.py `xmap`, celery/app/builtins.py `add_map_task`); `xstarmap` spreads each
 * item as the arguments; `chunks` splits the items into a group of `celery.starmap` tasks of `n`.
 * Python and Celeriac workers both know these builtins, so either can run them.
 */
export function xmap(task: Signature, items: readonly unknown[]): Signature<unknown[]> {
  return builtin('celery.map', task, { it: [...items] });
}

/** Like `xmap`, with each item spread as the task's arguments (`celery.starmap`). */
export function xstarmap(task: Signature, items: readonly (readonly unknown[])[]): Signature<unknown[]> {
  checkItems('xstarmap', items);
  return builtin('celery.starmap', task, { it: items.map((item) => [...item]) });
}

/** `chunks(add.s(), items, 10)`: a group of `celery.starmap` tasks, each running `n` items. */
export class Chunks {
  constructor(
    readonly task: Signature,
    readonly items: readonly (readonly unknown[])[],
    readonly n: number,
  ) {
    if (!Number.isInteger(n) || n < 1)
      throw new RangeError(`chunks(): n must be a positive integer, got ${n}`);
    checkItems('chunks', items);
  }

  /** The group this becomes (celery/canvas.py `chunks.group`). */
  group() {
    const parts: Signature<unknown[]>[] = [];
    for (let i = 0; i < this.items.length; i += this.n)
      parts.push(xstarmap(this.task, this.items.slice(i, i + this.n)));
    return group<unknown[]>(parts);
  }

  /** Sends the chunks; the GroupResult's `get()` gives one list of results per chunk. */
  applyAsync(options: ApplyOptions = {}, app?: Celeriac): Promise<GroupResult<unknown[]>> {
    return this.group().applyAsync([], options, app ?? appOf(this.task));
  }
}

export function chunks(task: Signature, items: readonly (readonly unknown[])[], n: number): Chunks {
  return new Chunks(task, items, n);
}

function builtin(name: string, task: Signature, extra: Record<string, unknown>): Signature<unknown[]> {
  const app = (task as unknown as { app?: Celeriac }).app;
  return new Signature<unknown[]>(name, [], { task: task.toDict(), ...extra }, {}, true, null, app);
}

function checkItems(what: string, items: readonly unknown[]): void {
  const bad = items.findIndex((item) => !Array.isArray(item));
  if (bad >= 0) throw new TypeError(`${what}(): item ${bad} is not an array of arguments`);
}

/**
 * Registers `celery.map`, `celery.starmap` and `celery.chunks` on an app so its worker can run
 * them (they run the inner task in-process, as Python's builtins do). Idempotent.
 */
export function registerCanvasBuiltins(app: Celeriac): void {
  const run = async (ctx: TaskContext, sig: unknown, args: readonly unknown[]) => {
    const dict = toSignatureDict(sig as SignatureDict);
    const task = app.tasks.get(dict?.task);
    if (!task)
      throw new TypeError(`${ctx.name}: task ${JSON.stringify(dict?.task)} is not registered in this worker`);
    return task.call(ctx, [...args, ...(dict.args ?? [])]);
  };
  const define = (name: string, fn: (ctx: TaskContext, ...args: never[]) => unknown, params: string[]) => {
    if (!app.tasks.has(name)) app.task(name, fn, { bind: true, params });
  };
  define(
    'celery.map',
    async (ctx, sig: unknown, it: unknown[]) => {
      const out: unknown[] = [];
      for (const item of it) out.push(await run(ctx, sig, [item]));
      return out;
    },
    ['task', 'it'],
  );
  define(
    'celery.starmap',
    async (ctx, sig: unknown, it: unknown[][]) => {
      const out: unknown[] = [];
      for (const item of it) out.push(await run(ctx, sig, item));
      return out;
    },
    ['task', 'it'],
  );
  define(
    'celery.chunks',
    // Sent by Python's `chunks(...).delay()` only when called as a task: fan out as a group of starmaps.
    async (_ctx, sig: unknown, it: unknown[][], n: number) => {
      const result = await chunks(Signature.fromDict(sig as SignatureDict, app), it, n).applyAsync({}, app);
      return result.id;
    },
    ['task', 'it', 'n'],
  );
}
