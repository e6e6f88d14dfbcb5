import type { Celeriac } from '../app/celeriac.ts';
import { countChordPart, type ChordMember } from '../canvas/chord-completion.ts';
import { applySignature } from '../canvas/nested.ts';
import { optionsFromWire, Signature } from '../canvas/signature.ts';
import type { SignatureDict } from '../protocol/types.ts';
import type { ExceptionInfo } from '../result/meta.ts';
import { States } from '../result/states.ts';
import type { ApplyOptions } from '../task/options.ts';
import { uuid } from '../util/ids.ts';
import type { Logger } from '../util/logger.ts';
import type { Request } from './request.ts';
import type { ResultStore } from './result-store.ts';

/**
 * What runs after a task (§8.2, §8.3; celery/app/trace.py and celery/backends/base.py
 * `mark_as_failure`, `_call_task_errbacks`): link callbacks and the next chain step on success,
 * errbacks and the remaining chain steps' FAILURE on failure. Chord parts are counted in result-store.ts.
 */
export class CanvasSteps {
  constructor(
    private readonly app: Celeriac,
    private readonly logger: Logger,
  ) {}

  /**
   * Sends the link callbacks (return value prepended unless immutable) and the next chain step
   * (the last of `embed.chain`, with the rest as its chain), recording each as a child.
   * Called before the task's own result is stored, so `children` is filled in.
   */
  async afterSuccess(request: Request, retval: unknown): Promise<void> {
    const { callbacks, chain } = request.message.embed;
    const sends: Promise<void>[] = [];
    if (callbacks) for (const sig of callbacks) sends.push(this.apply(request, sig, [retval], {}));
    if (chain && chain.length > 0) {
      const next = chain[chain.length - 1]!;
      const rest = chain.slice(0, -1);
      sends.push(this.apply(request, next, [retval], rest.length > 0 ? { chain: rest } : {}));
    }
    // A chord header task's part is counted by ResultStore once its result is stored; one whose
    // result is not stored is counted here (Celery's `mark_as_done` counts it either way).
    if (request.message.embed.chord && this.ignoresResult(request)) {
      sends.push(this.countPart(request, States.SUCCESS, retval));
    }
    await Promise.all(sends);
  }

  /**
   * Stores the FAILURE under the frozen id of every remaining chain step (new in Celery 5), then
   * sends the errbacks as tasks with `[task_id, ...args]`.
   */
  async afterFailure(
    request: Request,
    info: ExceptionInfo,
    traceback: string,
    store: ResultStore | undefined,
  ): Promise<void> {
    const { errbacks, chain } = request.message.embed;
    if (store && chain) {
      for (const step of chain) {
        const taskId = step.options?.task_id;
        if (typeof taskId !== 'string') continue;
        const groupId = typeof step.options.group_id === 'string' ? step.options.group_id : null;
        await store.store(request, States.FAILURE, info, traceback, { taskId, groupId });
      }
    }
    if (!store && request.message.embed.chord) await this.countPart(request, States.FAILURE, info);
    // A chain in a chord header: its last step carries the chord and will never run, so count its
    // part failed now or the chord stalls (celery/backends/base.py `mark_as_failure`).
    for (const step of chain ?? []) {
      const member = chainStepChordMember(step, request.headers.root_id);
      if (member)
        await countChordPart(this.app, await this.app.backend(), member, States.FAILURE, info, this.logger);
    }
    if (errbacks) await Promise.all(errbacks.map((sig) => this.apply(request, sig, [request.id], {})));
  }

  private async apply(
    request: Request,
    sig: SignatureDict,
    extraArgs: unknown[],
    extra: ApplyOptions,
  ): Promise<void> {
    const lineage: ApplyOptions = { parentId: request.id, rootId: request.headers.root_id, ...extra };
    switch (sig.subtask_type ?? null) {
      case null:
        request.addChild(await this.send(sig, extraArgs, lineage));
        return;
      case 'chain': {
        // A chain as a callback: run its first step with the value, the rest reversed as its chain.
        const steps = tasksOf(sig);
        const [first, ...others] = steps;
        if (!first) return;
        const chain = [...others].reverse();
        request.addChild(
          await this.send(first, extraArgs, { ...lineage, ...(chain.length ? { chain } : {}) }),
        );
        return;
      }
      case 'group': {
        const groupId = typeof sig.options?.task_id === 'string' ? sig.options.task_id : uuid();
        const ids = await Promise.all(
          tasksOf(sig).map((member) => this.send(member, extraArgs, { ...lineage, groupId })),
        );
        (request.children ??= []).push([[groupId, null], ids.map((id) => [[id, null], null])]);
        return;
      }
      case 'chord': {
        // A chord as a chain step or callback: the value goes to every header task, the rest of the chain to its body.
        const result = await applySignature(Signature.fromDict(sig, this.app), extraArgs, lineage, this.app);
        request.addChild(result.id);
        return;
      }
      default:
        this.logger.warn(
          { taskId: request.id, callback: sig.task },
          `unknown subtask_type ${JSON.stringify(sig.subtask_type)}: ${sig.task} was not sent`,
        );
    }
  }

  private ignoresResult(request: Request): boolean {
    return request.headers.ignore_result || (request.task.options.ignoreResult ?? this.app.conf.ignoreResult);
  }

  private async countPart(request: Request, state: string, result: unknown): Promise<void> {
    await countChordPart(this.app, await this.app.backend(), request, state, result, this.logger);
  }

  private async send(sig: SignatureDict, extraArgs: unknown[], options: ApplyOptions): Promise<string> {
    const args = sig.immutable ? (sig.args ?? []) : [...extraArgs, ...(sig.args ?? [])];
    const result = await this.app.sendTask(sig.task, args, sig.kwargs ?? {}, {
      ...optionsFromWire(sig.options ?? {}),
      ...options,
    });
    return result.id;
  }
}

function chainStepChordMember(step: SignatureDict, rootId: string): ChordMember | undefined {
  const o = step.options ?? {};
  if (!o.chord || typeof o.task_id !== 'string' || typeof o.group_id !== 'string') return undefined;
  return {
    id: o.task_id,
    name: step.task,
    headers: {
      group: o.group_id,
      group_index: typeof o.group_index === 'number' ? o.group_index : null,
      root_id: rootId,
    },
    message: { embed: { chord: o.chord as SignatureDict } },
  };
}

function tasksOf(sig: SignatureDict): SignatureDict[] {
  const tasks = (sig.kwargs as { tasks?: unknown }).tasks;
  return Array.isArray(tasks) ? (tasks as SignatureDict[]) : [];
}
