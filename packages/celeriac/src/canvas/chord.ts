import type { Celeriac } from '../app/celeriac.ts';
import { chordCounterOf, ChordUnsupportedError } from '../backends/chord-backend.ts';
import { AsyncResult } from '../result/async-result.ts';
import type { ApplyOptions } from '../task/options.ts';
import { uuid } from '../util/ids.ts';
import { appOf, toStep, type Step } from './chain.ts';
import { GroupResult, publishMembers } from './group.ts';
import { applySignature, chainSignature, chordSignature, finalId, membersOf } from './nested.ts';
import { Signature, toSignatureDict } from './signature.ts';

/** The body's result, with the header's GroupResult as `parent` (celery/canvas.py `chord.run`). */
export class ChordResult<R = unknown> extends AsyncResult<R> {
  constructor(
    id: string,
    app: Celeriac,
    readonly parent: GroupResult,
  ) {
    super(id, app);
  }
}

/**
 * `chord([add.s(1, 1), add.s(2, 2)], tsum.s())`: the header runs as a group; when its last task
 * finishes, the worker that ran it sends the body with every header result, in header order, as
 * its first argument (§8.5). A failed or revoked header task fails the body with a ChordError and
 * runs the body's `link_error` instead. Needs a result backend with chord counters (Redis).
 */
export class Chord<R = unknown> {
  constructor(
    readonly header: readonly Signature[],
    readonly body: Signature<R>,
  ) {}

  /**
   * Sends the header. `args` are given to every header task (as Celery's partial args); `options`
   * apply to the header tasks (queue, priority, ...), the body keeps its own.
   */
  async applyAsync(
    args: readonly unknown[] = [],
    options: ApplyOptions = {},
    app?: Celeriac,
  ): Promise<ChordResult<R>> {
    const owner = app ?? appOf(this.body);
    const groupId = options.groupId ?? uuid();
    const { taskId: _ignored, chain: bodyChain, ...shared } = options;
    // A chain as the body: its steps are frozen (so the chord's result is its last step) and the
    // rest of an enclosing chain is appended to it.
    const unfrozen =
      this.body.subtaskType === 'chain'
        ? chainSignature(
            [
              ...membersOf(this.body, owner),
              ...[...(bodyChain ?? [])].reverse().map((d) => Signature.fromDict(toSignatureDict(d), owner)),
            ].map((s) => s.set({ task_id: s.options.task_id ?? uuid() })),
          )
        : this.body;
    const plainChain = this.body.subtaskType === 'chain' ? undefined : bodyChain;
    const bodyId = finalId(unfrozen) ?? uuid();
    const rootId = options.rootId;
    // Freezing the body (celery/canvas.py Signature.freeze): its id and reply_to are fixed now.
    // The rest of an enclosing chain goes to the body, never to the header (celery/canvas.py `chord.run`).
    const body = unfrozen.set({
      ...(unfrozen.subtaskType !== 'chain' ? { task_id: bodyId } : {}),
      reply_to: this.body.options.reply_to ?? owner.oid,
      ...(rootId ? { root_id: rootId } : {}),
      ...(plainChain ? { chain: plainChain.map(toSignatureDict) } : {}),
    });
    if (this.header.length === 0) {
      // An empty header: the body runs at once with no results, as Celery does.
      await applySignature(body, [[]], {}, owner);
      return new ChordResult<R>(bodyId, owner, new GroupResult(groupId, []));
    }
    const backend = await owner.backend();
    const counter = chordCounterOf(backend);
    if (!counter) throw new ChordUnsupportedError(backend?.name);
    for (const member of this.header) {
      if (member.subtaskType !== null) {
        throw new TypeError(
          `chord(): header member ${member.task} is a ${member.subtaskType}; only plain signatures are supported in a chord header`,
        );
      }
    }
    // Header ids are fixed now: the SQL counter lists them (django's `apply_chord`).
    const header = this.header.map((m) => m.set({ task_id: m.options.task_id ?? uuid() }));
    // Celery sets the size just before the last header task; before the first is as correct and simpler.
    await counter.setChordSize(
      groupId,
      header.length,
      header.map((m) => m.options.task_id as string),
    );
    const bodyDict = body.toDict();
    const results = await publishMembers(owner, header, args, (_member, index) => ({
      ...shared,
      groupId,
      groupIndex: index,
      chord: bodyDict,
      ...(rootId ? { rootId } : {}),
    }));
    return new ChordResult<R>(bodyId, owner, new GroupResult(groupId, results));
  }

  delay(...args: unknown[]): Promise<ChordResult<R>> {
    return this.applyAsync(args);
  }

  /** The chord as a signature (`celery.chord`), to nest it in a chain. */
  toSignature(): Signature {
    return chordSignature(this.header, this.body);
  }
}

/** `chord(header, body)`; the header is a list of signatures or a `group(...)`. */
export function chord<R = unknown>(
  header: readonly Signature[] | { members: readonly Signature[] },
  body: Step,
): Chord<R> {
  const members = Array.isArray(header) ? header : (header as { members: readonly Signature[] }).members;
  return new Chord<R>(members, toStep(body) as Signature<R>);
}
