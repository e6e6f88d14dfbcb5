import type { Celeriac } from '../app/celeriac.ts';
import type { ResultBackend } from '../backends/backend.ts';
import { chordCounterOf, type ChordPart } from '../backends/chord-backend.ts';
import { saferepr } from '../protocol/repr.ts';
import type { SignatureDict } from '../protocol/types.ts';
import { isExceptionInfo, utcNowIso, type ExceptionInfo } from '../result/meta.ts';
import { States } from '../result/states.ts';
import type { Logger } from '../util/logger.ts';
import { applySignature, finalId, membersOf } from './nested.ts';
import { Signature } from './signature.ts';

/** What the worker knows about a finished chord header task. */
export interface ChordPartReturn {
  taskId: string;
  groupId: string;
  groupIndex: number | null;
  rootId: string | null;
  /** The body signature from `embed.chord`. */
  body: SignatureDict;
  state: string;
  result: unknown;
}

/** States that fail the whole chord (celery/states.py `PROPAGATE_STATES`). */
const PROPAGATE = new Set<string>([States.FAILURE, States.REVOKED]);

/**
 * The worker side of a chord (celery/backends/redis.py `on_chord_part_return`): count this part;
 * when it is the last, send the body with the ordered results, or, when a part failed or was
 * revoked, store a ChordError for the body and send its `link_error` errbacks
 * (`chord_error_from_stack`). Resolves true when this call completed the chord.
 */
export async function onChordPartReturn(
  app: Celeriac,
  backend: ResultBackend,
  part: ChordPartReturn,
  logger: Logger,
): Promise<boolean> {
  const counter = chordCounterOf(backend);
  if (!counter) {
    logger.error(
      { taskId: part.taskId, groupId: part.groupId },
      `task ${part.taskId} is part of chord ${part.groupId}, but the ${backend.name} result backend cannot count chord parts; the body will not run`,
    );
    return false;
  }
  const parts = await counter.addPart({
    groupId: part.groupId,
    taskId: part.taskId,
    state: part.state,
    result: part.result,
    groupIndex: part.groupIndex,
  });
  if (!parts) return false;
  const body = Signature.fromDict(part.body, app);
  try {
    const failed = parts.find((p) => PROPAGATE.has(p.state));
    if (failed) {
      await chordError(app, backend, body, dependencyMessage(failed), logger);
      return true;
    }
    try {
      // Sent by the last header task, as from inside it in Celery: it is the body's parent.
      const lineage = {
        parentId: part.taskId,
        ...(body.options.root_id === undefined && part.rootId ? { rootId: part.rootId } : {}),
      };
      await applySignature(body, [parts.map((p) => p.result)], lineage, app);
    } catch (error) {
      logger.error(
        { err: error, groupId: part.groupId },
        `chord ${part.groupId}: the body could not be sent`,
      );
      await chordError(app, backend, body, `Callback error: ${saferepr(error)}`, logger);
    }
    return true;
  } finally {
    await counter.release(part.groupId);
  }
}

/** `ChordError('Dependency <id> raised ValueError('bad'))`, as `_unpack_chord_result` words it. */
function dependencyMessage(part: ChordPart): string {
  const raised = isExceptionInfo(part.result) ? excRepr(part.result) : saferepr(part.result);
  return `Dependency ${part.taskId} raised ${raised}`;
}

function excRepr(info: ExceptionInfo): string {
  const args = Array.isArray(info.exc_message) ? info.exc_message : [info.exc_message];
  return `${info.exc_type}(${args.map((a) => saferepr(a)).join(', ')})`;
}

/** Celery's `chord_error_from_stack`: errbacks get `[body_id]`, the body id is stored FAILURE. */
async function chordError(
  app: Celeriac,
  backend: ResultBackend,
  body: Signature,
  message: string,
  logger: Logger,
): Promise<void> {
  const bodyId = body.options.task_id as string;
  const info: ExceptionInfo = {
    exc_type: 'ChordError',
    exc_message: [message],
    exc_module: 'celery.exceptions',
  };
  logger.error({ taskId: bodyId }, `Chord callback ${body.task}[${bodyId}] failed: ChordError: ${message}`);
  const linkError = body.options.link_error;
  const errbacks = (Array.isArray(linkError) ? linkError : linkError ? [linkError] : []) as SignatureDict[];
  const rootId = (body.options.root_id as string | undefined) ?? bodyId;
  await Promise.all(
    errbacks.map((eb) => Signature.fromDict(eb, app).applyAsync([bodyId], { parentId: bodyId, rootId }, app)),
  );
  // A group body never runs: each member's result fails too, so its GroupResult settles.
  const ids = [bodyId, ...(body.subtaskType === 'group' ? membersOf(body).map((m) => finalId(m)) : [])];
  for (const id of ids) {
    if (!id) continue;
    await backend.store(
      {
        task_id: id,
        status: States.FAILURE,
        result: info,
        traceback: null,
        children: [],
        date_done: utcNowIso(),
      },
      { correlationId: id, replyTo: body.options.reply_to as string | undefined },
    );
  }
}

/** The parts of a worker request a chord part needs (src/worker/request.ts `Request`). */
export interface ChordMember {
  id: string;
  name: string;
  headers: { group: string | null; group_index: number | null; root_id: string | null };
  message: { embed: { chord: SignatureDict | null } };
}

/**
 * Counts a finished chord header task (a no-op for other tasks). Errors are logged, not thrown:
 * the task's own outcome is already settled (Celery logs `Chord %r raised` the same way).
 */
export async function countChordPart(
  app: Celeriac,
  backend: ResultBackend | undefined,
  request: ChordMember,
  state: string,
  result: unknown,
  logger: Logger,
): Promise<void> {
  const groupId = request.headers.group;
  const body = request.message.embed.chord;
  if (!groupId || !body || !backend) return;
  try {
    await onChordPartReturn(
      app,
      backend,
      {
        taskId: request.id,
        groupId,
        groupIndex: request.headers.group_index ?? null,
        rootId: request.headers.root_id ?? null,
        body,
        state,
        result,
      },
      logger,
    );
  } catch (error) {
    logger.error(
      { err: error, taskId: request.id, groupId },
      `chord ${groupId}: could not record the ${state} of ${request.name}[${request.id}]; the body may not run`,
    );
  }
}
