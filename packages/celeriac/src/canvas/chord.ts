import type { Celeriac } from '../app/celeriac.ts';
import { chordCounterOf, ChordUnsupportedError } from '../backends/chord-backend.ts';
import { AsyncResult, type GetOptions } from '../result/async-result.ts';
import type { ApplyOptions, SignatureLike } from '../task/options.ts';
import { uuid } from '../util/ids.ts';
import { appOf, toStep, type Step } from './chain.ts';
import { layoutHeader } from './chord-header.ts';
import { GroupResult, publishMembers, type Group } from './group.ts';
import {
  applySignature,
  chainSignature,
  chordSignature,
  finalId,
  groupSignature,
  membersOf,
} from './nested.ts';
import { addToParent, chainTuple, groupTuple, parentRootId, withoutTrail } from './parent-task.ts';
import { Signature, toSignatureDict } from './signature.ts';

/**
 * The body's result, with the header's GroupResult as `parent` (celery/canvas.py `chord.run`).
 * When the body is a group, Celery returns that group's GroupResult: `group` holds it, and
 * `get()`/`ready()`/`successful()`/`failed()` read its members.
 */
export class ChordResult<R = unknown> extends AsyncResult<R> {
  constructor(
    id: string,
    app: Celeriac,
    readonly parent: GroupResult,
    readonly group?: GroupResult,
  ) {
    super(id, app);
  }

  override get(options: GetOptions = {}): Promise<R> {
    return this.group ? (this.group.get(options) as Promise<R>) : super.get(options);
  }

  override ready(): Promise<boolean> {
    return this.group ? this.group.ready() : super.ready();
  }

  override async successful(): Promise<boolean> {
    if (!this.group) return super.successful();
    return (await this.group.completedCount()) === this.group.results.length;
  }

  override async failed(): Promise<boolean> {
    if (!this.group) return super.failed();
    return (await Promise.all(this.group.results.map((r) => r.failed()))).some(Boolean);
  }
}

/**
 * `chord([add.s(1, 1), add.s(2, 2)], tsum.s())`: the header runs as a group; when its last part
 * finishes, the worker that ran it sends the body with every header result, in header order, as
 * its first argument (§8.5). A group in the header is flattened into its tasks; a chain in the
 * header is one part, finished by its last step. The body may be a task, a chain or a group. A
 * failed or revoked header task fails the body with a ChordError and runs the body's `link_error`
 * instead. Needs a result backend with chord counters (Redis, SQL).
 */
export class Chord<R = unknown> {
  constructor(
    readonly header: readonly Signature[],
    readonly body: Signature<R>,
  ) {}

  /**
   * Sends the header. `args` are given to every header part (as Celery's partial args); `options`
   * apply to the header tasks (queue, priority, ...; to a chain's first step), the body keeps its own.
   */
  async applyAsync(
    args: readonly unknown[] = [],
    options: ApplyOptions = {},
    app?: Celeriac,
  ): Promise<ChordResult<R>> {
    const owner = app ?? appOf(this.body);
    const groupId = options.groupId ?? uuid();
    const {
      taskId: _taskId,
      chain: bodyChain,
      groupId: _groupId,
      groupIndex: _groupIndex,
      chord: _chord,
      ...shared
    } = options;
    // Sent from inside a task, the whole chord shares that task's root (Celery's `send_task`).
    const rootId = options.rootId ?? parentRootId();
    const { body, bodyId, bodyGroup } = freezeBody(this.body, bodyChain, owner, rootId);
    const bodyDict = body.toDict();
    // Header ids are fixed now: the SQL counter lists them (django's `apply_chord`).
    const parts = layoutHeader(this.header, groupId, bodyDict, owner);
    const bodyResult = (parent: GroupResult) =>
      new ChordResult<R>(bodyId, owner, parent, bodyGroup && groupResultOf(owner, bodyGroup));
    if (parts.length === 0) {
      // An empty header: the body runs at once with no results, as Celery does.
      await applySignature(body, [[]], {}, owner);
      return bodyResult(new GroupResult(groupId, []));
    }
    const backend = await owner.backend();
    const counter = chordCounterOf(backend);
    if (!counter) throw new ChordUnsupportedError(backend?.name);
    // Celery sets the size just before the last header task; before the first is as correct and simpler.
    await counter.setChordSize(
      groupId,
      parts.length,
      parts.map((p) => p.finalId),
    );
    const withRoot = rootId ? { rootId } : {};
    // Header tasks are not listed one by one under a sending task: the header group is, once.
    const results = await withoutTrail(() =>
      publishMembers(
        owner,
        parts.map((p) => p.sig),
        args,
        (member, index) =>
          member.subtaskType === null
            ? { ...shared, ...withRoot, groupId, groupIndex: index, chord: bodyDict }
            : { ...shared, ...withRoot },
      ),
    );
    addToParent(
      groupTuple(
        groupId,
        parts.map((p) => chainTuple(p.stepIds)),
      ),
    );
    return bodyResult(new GroupResult(groupId, results));
  }

  delay(...args: unknown[]): Promise<ChordResult<R>> {
    return this.applyAsync(args);
  }

  /** The chord as a signature (`celery.chord`), to nest it in a chain. */
  toSignature(): Signature {
    return chordSignature(this.header, this.body);
  }
}

/**
 * Freezes the body (celery/canvas.py Signature.freeze): its id, its reply_to and its root are fixed
 * now. A chain body gets every step's id (the chord's result is its last step) and the rest of an
 * enclosing chain appended; a group body gets its group id and every member's id.
 */
function freezeBody(
  original: Signature,
  bodyChain: readonly SignatureLike[] | undefined,
  owner: Celeriac,
  rootId: string | undefined,
): { body: Signature; bodyId: string; bodyGroup: Signature | undefined } {
  let unfrozen = original;
  if (original.subtaskType === 'chain') {
    const rest = [...(bodyChain ?? [])].reverse().map((d) => Signature.fromDict(toSignatureDict(d), owner));
    unfrozen = chainSignature([...membersOf(original, owner), ...rest].map(withTaskId));
  } else if (original.subtaskType === 'group') {
    if (bodyChain && bodyChain.length > 0) {
      throw new TypeError(
        'chord(): a chord whose body is a group cannot be followed by more chain steps; make the group a chord instead',
      );
    }
    const members = membersOf(original, owner).map(freezeGroupMember);
    unfrozen = groupSignature(members, { ...original.options, task_id: original.options.task_id ?? uuid() });
  }
  // The rest of an enclosing chain goes to a plain body, never to the header (celery/canvas.py `chord.run`).
  const plainChain = original.subtaskType === null ? bodyChain : undefined;
  const bodyId = finalId(unfrozen) ?? uuid();
  const body = unfrozen.set({
    ...(unfrozen.subtaskType !== 'chain' ? { task_id: bodyId } : {}),
    reply_to: original.options.reply_to ?? owner.oid,
    ...(rootId ? { root_id: rootId } : {}),
    ...(plainChain ? { chain: plainChain.map(toSignatureDict) } : {}),
  });
  return { body, bodyId, bodyGroup: original.subtaskType === 'group' ? body : undefined };
}

function withTaskId(sig: Signature): Signature {
  return sig.set({ task_id: sig.options.task_id ?? uuid() });
}

/** A group body's member keeps the id its result will have: a task's own, a chain's every step. */
function freezeGroupMember(member: Signature): Signature {
  if (member.subtaskType === null) return withTaskId(member);
  if (member.subtaskType === 'chain') return chainSignature(membersOf(member).map(withTaskId));
  throw new TypeError(
    `chord(): a group body may hold tasks and chains, but it holds a ${member.subtaskType} (${member.task})`,
  );
}

function groupResultOf(app: Celeriac, group: Signature): GroupResult {
  const ids = membersOf(group).map((m) => finalId(m)!);
  return new GroupResult(
    group.options.task_id as string,
    ids.map((id) => app.AsyncResult(id)),
  );
}

/**
 * `chord(header, body)`; the header is a list of signatures (groups and chains allowed) or a
 * `group(...)`; the body a task, a chain or a group (then the chord's result reads as a group's).
 */
export function chord<R = unknown>(
  header: readonly Step[] | { members: readonly Signature[] },
  body: Group<R>,
): Chord<R[]>;
export function chord<R = unknown>(
  header: readonly Step[] | { members: readonly Signature[] },
  body: Step,
): Chord<R>;
export function chord<R = unknown>(
  header: readonly Step[] | { members: readonly Signature[] },
  body: Step,
): Chord<R> {
  const members = Array.isArray(header)
    ? (header as readonly Step[]).map(toStep)
    : (header as { members: readonly Signature[] }).members;
  return new Chord<R>(members, toStep(body) as Signature<R>);
}
