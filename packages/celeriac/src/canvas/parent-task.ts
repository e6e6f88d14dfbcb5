import { AsyncLocalStorage } from 'node:async_hooks';

/**
 * The task whose body is running, as Celery's `app.current_worker_task`: anything sent from
 * inside it gets its id as `parent_id` and its root as `root_id`, and is listed in its stored
 * `children` (celery/app/base.py `send_task`, celery/app/task.py `add_trail`). The worker's
 * Request satisfies this shape; a pool thread or process builds one from the call it runs.
 */
export interface ParentTask {
  readonly id: string;
  readonly headers: { readonly root_id: string | null };
  /** Result tuples (`[[id, parent], null]`, `[[gid, null], [...]]`) stored as the task's `children`. */
  children: unknown[] | undefined;
}

/** A result tuple as Celery's `as_tuple()` writes it. */
export type ResultTuple = [[string, ResultTuple | null], ResultTuple[] | null];

const current = new AsyncLocalStorage<ParentTask | undefined>();

/** Runs a task body with `parent` as the current task, for everything it awaits or schedules. */
export function runAsParent<T>(parent: ParentTask, body: () => T): T {
  return current.run(parent, body);
}

/**
 * Runs `fn` outside any task: the worker handles each delivery this way, since a connection or
 * timer first made inside a task body would otherwise carry that task into every later callback.
 */
export function outsideAnyTask<A extends unknown[], T>(fn: (...args: A) => T, ...args: A): T {
  // Not `exit()`: on Node 20 it turns the hooks off, and promises made meanwhile then resume in
  // whatever context was current (here the publisher's task). An empty store propagates properly.
  return current.getStore() === undefined ? fn(...args) : current.run(undefined, fn, ...args);
}

/** The task running now in this async context, if any. */
export function currentParent(): ParentTask | undefined {
  return current.getStore();
}

/** `parent_id` and `root_id` for a message sent now: the running task's, unless the caller set them. */
export function lineage(
  parentId: string | undefined,
  rootId: string | undefined,
  ownId: string,
): { parentId: string | null; rootId: string } {
  const parent = current.getStore();
  return {
    parentId: parentId ?? parent?.id ?? null,
    rootId: rootId ?? parent?.headers.root_id ?? parent?.id ?? ownId,
  };
}

/** The running task's root id (its own id when it is the root), for canvas that fixes root ids up front. */
export function parentRootId(): string | undefined {
  const parent = current.getStore();
  return parent ? (parent.headers.root_id ?? parent.id) : undefined;
}

/** Lists a result as a child of the running task (Celery's `add_trail`). */
export function addToParent(tuple: ResultTuple): void {
  const parent = current.getStore();
  if (parent) (parent.children ??= []).push(tuple);
}

/**
 * Runs `send` with the same parent for lineage but without listing what it sends: a group's
 * members are sent with `add_to_parent=False` and the group is listed once, as a GroupResult.
 */
export function withoutTrail<T>(send: () => T): T {
  const parent = current.getStore();
  if (!parent) return send();
  return current.run({ id: parent.id, headers: parent.headers, children: undefined }, send);
}

/** `AsyncResult.as_tuple()`: `[[id, parent_tuple], null]`. */
export function taskTuple(id: string, parent: ResultTuple | null = null): ResultTuple {
  return [[id, parent], null];
}

/** A chain's result tuple: its last step, each step's parent the one before (`_chain.freeze`). */
export function chainTuple(stepIds: readonly string[]): ResultTuple {
  let tuple: ResultTuple | null = null;
  for (const id of stepIds) tuple = taskTuple(id, tuple);
  if (!tuple) throw new TypeError('a chain needs at least one step');
  return tuple;
}

/** `GroupResult.as_tuple()`: `[[group_id, null], [member tuples]]`. */
export function groupTuple(groupId: string, members: readonly ResultTuple[]): ResultTuple {
  return [[groupId, null], [...members]];
}
