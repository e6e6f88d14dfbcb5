import type { Celeriac } from '../app/celeriac.ts';
import type { SignatureDict } from '../protocol/types.ts';
import { AsyncResult } from '../result/async-result.ts';
import type { ApplyOptions } from '../task/options.ts';
import { Chain } from './chain.ts';
import { Chord } from './chord.ts';
import { Group } from './group.ts';
import { Signature } from './signature.ts';

/**
 * Canvas inside canvas (celery/canvas.py `_chain`, `group`, `_chord` as dicts): a chain step, a
 * callback or a chord body may itself be a chain, a group or a chord. These turn such signatures
 * into the dicts Python writes (`subtask_type` + `kwargs.tasks` or `kwargs.header/body`) and send
 * them whatever their kind.
 */

/** `group(...)` as a signature: `celery.group` with `kwargs.tasks`. */
export function groupSignature(
  members: readonly Signature[],
  options: Record<string, unknown> = {},
): Signature {
  const tasks = members.map((m) => m.toDict());
  return new Signature('celery.group', [], { tasks }, options, false, 'group', appFrom(members));
}

/** `chord(header, body)` as a signature: `celery.chord` with `kwargs = {header, body, kwargs}`. */
export function chordSignature(header: readonly Signature[], body: Signature): Signature {
  const kwargs = { header: groupSignature(header).toDict(), body: body.toDict(), kwargs: {} };
  return new Signature('celery.chord', [], kwargs, {}, false, 'chord', appFrom([body, ...header]));
}

/** `chain(...)` as a signature: `celery.chain` with `kwargs.tasks` in execution order. */
export function chainSignature(steps: readonly Signature[]): Signature {
  const tasks = steps.map((s) => s.toDict());
  return new Signature('celery.chain', [], { tasks }, {}, false, 'chain', appFrom(steps));
}

/** The members of a group signature, the header and body of a chord, the steps of a chain. */
export function membersOf(sig: Signature | SignatureDict, app?: Celeriac): Signature[] {
  const tasks = (sig.kwargs as { tasks?: unknown }).tasks;
  return Array.isArray(tasks) ? (tasks as SignatureDict[]).map((t) => Signature.fromDict(t, app)) : [];
}

export function chordParts(
  sig: Signature | SignatureDict,
  app?: Celeriac,
): { header: Signature[]; body: Signature } {
  const { header, body } = sig.kwargs as { header?: SignatureDict; body?: SignatureDict };
  if (!header || !body)
    throw new TypeError(`${sig.task}: a chord signature needs kwargs.header and kwargs.body`);
  return { header: membersOf(header, app), body: Signature.fromDict(body, app) };
}

/**
 * Sends any signature. Resolves with the handle of what finishes last: the task, the chain's last
 * step, the chord's body, or for a group an AsyncResult named by the group id.
 */
export async function applySignature(
  sig: Signature,
  args: readonly unknown[],
  options: ApplyOptions,
  app: Celeriac,
): Promise<AsyncResult> {
  switch (sig.subtaskType) {
    case null:
      return sig.applyAsync(args, options, app);
    case 'chain':
      return new Chain(membersOf(sig, app)).applyAsync(args, options, app);
    case 'group': {
      const groupId = (sig.options.task_id as string | undefined) ?? options.groupId;
      const result = await new Group(membersOf(sig, app)).applyAsync(
        args,
        { ...options, ...(groupId ? { groupId } : {}) },
        app,
      );
      return new AsyncResult(result.id, app);
    }
    case 'chord': {
      const { header, body } = chordParts(sig, app);
      return new Chord(header, body).applyAsync(args, options, app);
    }
    default:
      throw new TypeError(`unknown subtask_type ${JSON.stringify(sig.subtaskType)} for ${sig.task}`);
  }
}

/** The id of what finishes last, for a frozen signature of any kind. */
export function finalId(sig: Signature): string | undefined {
  switch (sig.subtaskType) {
    case 'chord':
      return chordParts(sig).body.options.task_id as string | undefined;
    case 'chain': {
      const steps = membersOf(sig);
      return steps.length ? finalId(steps[steps.length - 1]!) : undefined;
    }
    default:
      return sig.options.task_id as string | undefined;
  }
}

function appFrom(sigs: readonly Signature[]): Celeriac | undefined {
  for (const s of sigs) {
    const app = (s as unknown as { app?: Celeriac }).app;
    if (app) return app;
  }
  return undefined;
}
