import type { Celeriac } from '../app/celeriac.ts';
import type { AsyncResult, GetOptions } from '../result/async-result.ts';
import type { ApplyOptions } from '../task/options.ts';
import { uuid } from '../util/ids.ts';
import { appOf, toStep, type Step } from './chain.ts';
import { applySignature, groupSignature } from './nested.ts';
import { addToParent, groupTuple, taskTuple, withoutTrail } from './parent-task.ts';
import type { Signature } from './signature.ts';

/** Members published at once; their confirms are pipelined, and memory stays bounded for huge groups. */
export const PUBLISH_BATCH = 1000;

/**
 * Publishes signatures in batches of `PUBLISH_BATCH` concurrent sends (the transport pipelines
 * them and their publisher confirms), returning the results in member order.
 */
export async function publishMembers<R>(
  app: Celeriac,
  members: readonly Signature<R>[],
  args: readonly unknown[],
  optionsFor: (member: Signature<R>, index: number) => ApplyOptions,
): Promise<AsyncResult<R>[]> {
  const results: AsyncResult<R>[] = [];
  for (let start = 0; start < members.length; start += PUBLISH_BATCH) {
    const batch = members.slice(start, start + PUBLISH_BATCH);
    results.push(
      ...(await Promise.all(
        batch.map(
          (member, i) =>
            applySignature(member, args, optionsFor(member, start + i), app) as Promise<AsyncResult<R>>,
        ),
      )),
    );
  }
  return results;
}

/**
 * `group(add.s(1, 1), add.s(2, 2))`: every member published on its own with header `group=<id>` and
 * the same root id (§8.4). Members go out in concurrent batches: a group of 10,000 does not wait for
 * 10,000 confirm round trips one after the other.
 */
export class Group<R = unknown> {
  constructor(readonly members: readonly Signature<R>[]) {}

  async applyAsync(
    args: readonly unknown[] = [],
    options: ApplyOptions = {},
    app?: Celeriac,
  ): Promise<GroupResult<R>> {
    const groupId = options.groupId ?? uuid();
    if (this.members.length === 0) throw new TypeError('group() needs at least one signature');
    const owner = app ?? appOf(this.members[0]!);
    const rootId = options.rootId;
    // Sent from inside a task, members carry its lineage but the group is listed once (Celery's
    // `add_to_parent=False` for members, then `add_trail(GroupResult)`).
    const results = await withoutTrail(() =>
      publishMembers(owner, this.members, args, () => ({
        ...options,
        groupId,
        ...(rootId ? { rootId } : {}),
      })),
    );
    addToParent(
      groupTuple(
        groupId,
        results.map((r) => taskTuple(r.id)),
      ),
    );
    return new GroupResult<R>(groupId, results);
  }

  delay(...args: unknown[]): Promise<GroupResult<R>> {
    return this.applyAsync(args);
  }

  /** The group as a signature (`celery.group`), to nest it in a chain or a chord body. */
  toSignature(): Signature {
    return groupSignature(this.members);
  }
}

export function group<R = unknown>(...members: Step[] | [Step[]]): Group<R> {
  const list = members.length === 1 && Array.isArray(members[0]) ? members[0] : (members as Step[]);
  return new Group<R>(list.map(toStep) as Signature<R>[]);
}

/** The results of a group, in the order of its members (celery/result.py `GroupResult`). */
export class GroupResult<R = unknown> {
  constructor(
    readonly id: string,
    readonly results: readonly AsyncResult<R>[],
  ) {}

  /** Every member's value, in order; throws the first failure unless `propagate: false`. */
  async get(options: GetOptions = {}): Promise<R[]> {
    const deadline = options.timeout === undefined ? undefined : Date.now() + options.timeout;
    const values: R[] = [];
    for (const result of this.results) {
      const timeout = deadline === undefined ? undefined : Math.max(0, deadline - Date.now());
      values.push(await result.get({ ...options, timeout }));
    }
    return values;
  }

  async ready(): Promise<boolean> {
    return (await Promise.all(this.results.map((r) => r.ready()))).every(Boolean);
  }

  async completedCount(): Promise<number> {
    return (await Promise.all(this.results.map((r) => r.successful()))).filter(Boolean).length;
  }
}
