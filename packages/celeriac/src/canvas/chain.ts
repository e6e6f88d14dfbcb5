import type { Celeriac } from '../app/celeriac.ts';
import type { AsyncResult } from '../result/async-result.ts';
import type { ApplyOptions } from '../task/options.ts';
import { uuid } from '../util/ids.ts';
import { optionsFromWire, Signature } from './signature.ts';

/**
 * `chain(a.s(2, 2), b.s(4), c.s(8))`: each step gets the previous result prepended (celery/canvas.py
 * `_chain`). Every step is frozen with its task id first; only the first is published, carrying the
 * rest in `embed.chain` in reverse order (§8.3), so Python and Celeriac workers can share one chain.
 */
export class Chain<R = unknown> {
  readonly steps: readonly Signature[];

  constructor(steps: readonly Signature[]) {
    if (steps.length === 0) throw new TypeError('chain() needs at least one signature');
    this.steps = steps;
  }

  /** Sends the chain; resolves with the last step's result handle once the first is confirmed. */
  async applyAsync(args: readonly unknown[] = [], options: ApplyOptions = {}, app?: Celeriac): Promise<AsyncResult<R>> {
    const frozen = this.steps.map((step) => step.set({ task_id: step.options.task_id ?? uuid() }));
    const first = frozen[0]!;
    const rootId = options.rootId ?? (first.options.task_id as string);
    const rest = frozen.slice(1).map((step) => step.set({ root_id: rootId }).toDict());
    const owner = app ?? appOf(first);
    await first.applyAsync(args, { ...optionsFromWire(first.options), ...options, rootId, chain: rest.reverse() }, owner);
    return owner.AsyncResult<R>(frozen[frozen.length - 1]!.options.task_id as string);
  }

  delay(...args: unknown[]): Promise<AsyncResult<R>> {
    return this.applyAsync(args);
  }
}

export function chain<R = unknown>(...steps: Signature[]): Chain<R> {
  return new Chain<R>(steps);
}

/** The app a signature was made with (through `task.s()`), or a clear error. */
export function appOf(sig: Signature): Celeriac {
  const app = (sig as unknown as { app?: Celeriac }).app;
  if (!app) throw new TypeError(`signature ${sig.task} has no app: make it with task.s() or pass the app`);
  return app;
}
