import type { SignatureDict } from '../protocol/types.ts';
import type { ApplyOptions, SignatureLike } from '../task/options.ts';
import type { AsyncResult } from '../result/async-result.ts';
import type { Celeriac } from '../app/celeriac.ts';

/**
 * A task call kept for later: name, arguments and options (celery/canvas.py `Signature`).
 * `R` is the task's result type; `add.s(2)` makes a Signature a chain can append a value to.
 */
export class Signature<R = unknown> {
  constructor(
    readonly task: string,
    readonly args: readonly unknown[] = [],
    readonly kwargs: Readonly<Record<string, unknown>> = {},
    readonly options: Readonly<Record<string, unknown>> = {},
    readonly immutable = false,
    readonly subtaskType: SignatureDict['subtask_type'] = null,
    private readonly app?: Celeriac,
  ) {}

  static fromDict(dict: SignatureDict, app?: Celeriac): Signature {
    return new Signature(
      dict.task,
      dict.args ?? [],
      dict.kwargs ?? {},
      dict.options ?? {},
      dict.immutable ?? false,
      dict.subtask_type ?? null,
      app,
    );
  }

  /** A copy with extra options (`queue`, `countdown`, `task_id`, ...; wire names). */
  set(options: Record<string, unknown>): Signature<R> {
    return new Signature<R>(
      this.task,
      this.args,
      this.kwargs,
      { ...this.options, ...options },
      this.immutable,
      this.subtaskType,
      this.app,
    );
  }

  /** A copy that also sends `callback` with this task's result on success (Celery's `sig.link`, §8.2). */
  link(callback: Signature | SignatureDict): Signature<R> {
    return this.set({ link: [...asList(this.options.link), toSignatureDict(callback)] });
  }

  /** A copy that also sends `errback` with `[task_id]` on failure (Celery's `sig.link_error`). */
  onError(errback: Signature | SignatureDict): Signature<R> {
    return this.set({ link_error: [...asList(this.options.link_error), toSignatureDict(errback)] });
  }

  /** A copy with more positional args in front of these (how a chain passes a result on). */
  clone(extraArgs: readonly unknown[] = []): Signature<R> {
    const args = this.immutable ? this.args : [...extraArgs, ...this.args];
    return new Signature<R>(
      this.task,
      args,
      this.kwargs,
      this.options,
      this.immutable,
      this.subtaskType,
      this.app,
    );
  }

  toDict(): SignatureDict {
    return {
      task: this.task,
      args: [...this.args],
      kwargs: { ...this.kwargs },
      options: { ...this.options },
      subtask_type: this.subtaskType,
      immutable: this.immutable,
    };
  }

  toJSON(): SignatureDict {
    return this.toDict();
  }

  /** Sends the call; `app` is needed when the signature was made without one (e.g. from a dict). */
  applyAsync(
    extraArgs: readonly unknown[] = [],
    options: ApplyOptions = {},
    app = this.app,
  ): Promise<AsyncResult<R>> {
    if (!app) throw new TypeError(`signature ${this.task} has no app: pass one to applyAsync`);
    const sig = this.clone(extraArgs);
    return app.sendTask(
      sig.task,
      [...sig.args],
      { ...sig.kwargs },
      { ...optionsFromWire(sig.options), ...options },
    ) as Promise<AsyncResult<R>>;
  }

  delay(...args: unknown[]): Promise<AsyncResult<R>> {
    return this.applyAsync(args);
  }
}

function asList(value: unknown): SignatureDict[] {
  if (value === undefined || value === null) return [];
  return (Array.isArray(value) ? value : [value]) as SignatureDict[];
}

export function toSignatureDict(sig: SignatureLike): SignatureDict {
  return 'toDict' in sig && typeof sig.toDict === 'function' ? sig.toDict() : (sig as SignatureDict);
}

/** Wire option names (snake_case, as in a signature's `options`) to ApplyOptions. */
export function optionsFromWire(options: Readonly<Record<string, unknown>>): ApplyOptions {
  const o = options as Record<string, never>;
  const out: ApplyOptions = {};
  if (o.task_id !== undefined) out.taskId = o.task_id;
  if (o.countdown !== undefined) out.countdown = o.countdown;
  if (o.eta !== undefined) out.eta = o.eta;
  if (o.expires !== undefined) out.expires = o.expires;
  if (o.queue !== undefined) out.queue = o.queue;
  if (o.exchange !== undefined) out.exchange = o.exchange;
  if (o.routing_key !== undefined) out.routingKey = o.routing_key;
  if (o.priority !== undefined) out.priority = o.priority;
  if (o.root_id !== undefined) out.rootId = o.root_id;
  if (o.parent_id !== undefined) out.parentId = o.parent_id;
  if (o.group_id !== undefined) out.groupId = o.group_id;
  if (o.group_index !== undefined) out.groupIndex = o.group_index;
  if (o.link !== undefined) out.link = o.link;
  if (o.link_error !== undefined) out.linkError = o.link_error;
  if (o.chord !== undefined) out.chord = o.chord;
  // A chord body carries the rest of its chain here (celery/canvas.py `chord.run` updates body.options).
  if (o.chain !== undefined) out.chain = o.chain;
  if (o.reply_to !== undefined) out.replyTo = o.reply_to;
  if (o.headers !== undefined) out.headers = o.headers;
  if (o.shadow !== undefined) out.shadow = o.shadow;
  if (o.ignore_result !== undefined) out.ignoreResult = o.ignore_result;
  if (o.time_limit !== undefined) out.timeLimit = o.time_limit;
  if (o.soft_time_limit !== undefined) out.softTimeLimit = o.soft_time_limit;
  return out;
}
