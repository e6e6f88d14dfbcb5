import type { Celeriac } from '../app/celeriac.ts';
import type { AsyncResult } from '../result/async-result.ts';
import type { ApplyOptions } from '../task/options.ts';
import { uuid } from '../util/ids.ts';
import { applySignature, chainSignature, chordParts, chordSignature, finalId, membersOf } from './nested.ts';
import { parentRootId } from './parent-task.ts';
import type { Signature } from './signature.ts';

/**
 * `chain(a.s(2, 2), b.s(4), c.s(8))`: each step gets the previous result prepended (celery/canvas.py
 * `_chain`). Every step is frozen with its task id first; only the first is published, carrying the
 * rest in `embed.chain` in reverse order (§8.3), so Python and Celeriac workers can share one chain.
 * Nested chains are flattened; a group followed by a step becomes a chord (as `prepare_steps` does).
 */
export class Chain<R = unknown> {
  readonly steps: readonly Signature[];

  constructor(steps: readonly Signature[]) {
    if (steps.length === 0) throw new TypeError('chain() needs at least one signature');
    this.steps = steps;
  }

  /** Sends the chain; resolves with the last step's result handle once the first is confirmed. */
  async applyAsync(
    args: readonly unknown[] = [],
    options: ApplyOptions = {},
    app?: Celeriac,
  ): Promise<AsyncResult<R>> {
    const owner = app ?? appOf(this.steps.find(hasApp) ?? this.steps[0]!);
    const frozen = prepareSteps(this.steps).map(freeze);
    const first = frozen[0]!;
    const rootId =
      options.rootId ??
      parentRootId() ??
      (first.subtaskType === null ? (first.options.task_id as string) : uuid());
    const rest = frozen.slice(1).map((step) => step.set({ root_id: rootId }).toDict());
    const chainOption = rest.length > 0 ? { chain: rest.reverse() } : {};
    await applySignature(first, args, { ...options, rootId, ...chainOption }, owner);
    return owner.AsyncResult<R>(finalId(frozen[frozen.length - 1]!)!);
  }

  delay(...args: unknown[]): Promise<AsyncResult<R>> {
    return this.applyAsync(args);
  }

  /** The chain as a signature (`celery.chain`), to nest it in a group, chord or another chain. */
  toSignature(): Signature {
    return chainSignature(this.steps);
  }
}

/** Flattens nested chains and turns `group, step` into `chord(group, step)` (celery/canvas.py `prepare_steps`). */
function prepareSteps(steps: readonly Signature[]): Signature[] {
  const flat = steps.flatMap((step) =>
    step.subtaskType === 'chain' ? membersOf(step, appOfOrNone(step)) : [step],
  );
  const out: Signature[] = [];
  for (let i = 0; i < flat.length; i++) {
    const step = flat[i]!;
    const next = flat[i + 1];
    if (step.subtaskType === 'group' && next) {
      out.push(chordSignature(membersOf(step, appOfOrNone(step)), next));
      i++;
    } else {
      out.push(step);
    }
  }
  return out;
}

/** Assigns the ids a chain needs up front: the task's, or the chord body's. */
function freeze(step: Signature): Signature {
  if (step.subtaskType === 'chord') {
    const { header, body } = chordParts(step, appOfOrNone(step));
    return chordSignature(header, body.set({ task_id: body.options.task_id ?? uuid() }));
  }
  return step.set({ task_id: step.options.task_id ?? uuid() });
}

function hasApp(sig: Signature): boolean {
  return appOfOrNone(sig) !== undefined;
}

function appOfOrNone(sig: Signature): Celeriac | undefined {
  return (sig as unknown as { app?: Celeriac }).app;
}

/** A signature, or a canvas object (group, chord, chain) that nests as one. */
export type Step = Signature | { toSignature(): Signature };

export function toStep(step: Step): Signature {
  return 'toSignature' in step && typeof step.toSignature === 'function'
    ? step.toSignature()
    : (step as Signature);
}

export function chain<R = unknown>(...steps: Step[]): Chain<R> {
  return new Chain<R>(steps.map(toStep));
}

/** The app a signature was made with (through `task.s()`), or a clear error. */
export function appOf(sig: Signature): Celeriac {
  const app = (sig as unknown as { app?: Celeriac }).app;
  if (!app) throw new TypeError(`signature ${sig.task} has no app: make it with task.s() or pass the app`);
  return app;
}
