import type { Celeriac } from '../app/celeriac.ts';
import type { SignatureDict } from '../protocol/types.ts';
import { uuid } from '../util/ids.ts';
import { chainSignature, membersOf } from './nested.ts';
import type { Signature } from './signature.ts';

/** One part of a chord header: what completes it sends its result to the chord counter. */
export interface HeaderPart {
  /** A plain signature, or a `celery.chain` whose last step carries the chord. */
  sig: Signature;
  /** The id the part completes under: the task's, or the chain's last step's. */
  finalId: string;
  /** For a chain: its steps' ids in order, for the result tuple (`last -> ... -> first` parents). */
  stepIds: string[];
}

/**
 * Lays out a chord header as Celery does (celery/canvas.py `group._freeze_unroll`, `_chain.freeze`,
 * `chord._descend`): a group inside the header is flattened into its tasks; a chain counts as one
 * part, completed by its last step, which alone carries `group_id`, `group_index` and `chord`
 * (§8.5) so that whichever worker runs it, Python or Celeriac, counts the part. Every id is fixed
 * here. Celery 5.2 reverses a nested group's order while flattening (`deque.extendleft`); we keep
 * the written order, and since `group_index` travels with each task the body gets results in it.
 */
export function layoutHeader(
  members: readonly Signature[],
  groupId: string,
  body: SignatureDict,
  app: Celeriac | undefined,
): HeaderPart[] {
  const plain = flatten(members, app);
  return plain.map((member, index) => {
    const chordOptions = { group_id: groupId, group_index: index, chord: body };
    if (member.subtaskType === null) {
      const taskId = (member.options.task_id as string | undefined) ?? uuid();
      return { sig: member.set({ task_id: taskId }), finalId: taskId, stepIds: [taskId] };
    }
    const steps = chainSteps(member, app).map((s) => s.set({ task_id: s.options.task_id ?? uuid() }));
    const last = steps.length - 1;
    const framed = steps.map((s, i) => (i === last ? s.set(chordOptions) : s));
    const stepIds = framed.map((s) => s.options.task_id as string);
    return { sig: chainSignature(framed), finalId: stepIds[last]!, stepIds };
  });
}

/** Groups flattened (in order), one-step chains unwrapped; anything else a chord cannot count is refused. */
function flatten(members: readonly Signature[], app: Celeriac | undefined): Signature[] {
  return members.flatMap((member): Signature[] => {
    switch (member.subtaskType) {
      case null:
        return [member];
      case 'group':
        return flatten(membersOf(member, app), app);
      case 'chain': {
        const steps = chainSteps(member, app);
        return steps.length === 1 ? [steps[0]!] : [member];
      }
      default:
        throw new TypeError(
          `chord(): header member ${member.task} is a ${member.subtaskType}; a chord header takes tasks, groups and chains`,
        );
    }
  });
}

/** A chain's steps, nested chains flattened; every step must be a plain task, so its last one can count the part. */
function chainSteps(chain: Signature, app: Celeriac | undefined): Signature[] {
  const steps = membersOf(chain, app).flatMap((s) => (s.subtaskType === 'chain' ? chainSteps(s, app) : [s]));
  if (steps.length === 0) throw new TypeError('chord(): a chain in the header has no steps');
  const bad = steps.find((s) => s.subtaskType !== null);
  if (bad) {
    throw new TypeError(
      `chord(): a chain in the header may hold only tasks, but it holds a ${bad.subtaskType} (${bad.task})`,
    );
  }
  return steps;
}
