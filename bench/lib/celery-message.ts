import { randomBytes, randomUUID } from 'node:crypto';
import { hostname } from 'node:os';
import type { Options } from 'amqplib';

/**
 * A Celery protocol v2 task message built by hand for the raw-client baseline and for
 * pre-loading queues: the 16 headers `as_task_v2` emits (celery/app/amqp.py) and the
 * `[args, kwargs, embed]` body, so the raw rows move the same bytes as Celeriac and Celery.
 */
export interface CeleryMessage {
  body: Buffer;
  options: Options.Publish;
}

const ORIGIN = `gen${process.pid}@${hostname()}`;
const REPLY_TO = randomUUID();

/** A run tag that replaces the first 8 hex digits of every task id, so ids keep the uuid shape. */
export function newRunTag(): string {
  return randomBytes(4).toString('hex');
}

/** A uuid4-shaped id starting with the run tag: results can be matched with `celery-task-meta-<tag>-*`. */
export function taggedId(runTag: string): string {
  return runTag + randomUUID().slice(8);
}

export function celeryMessage(
  task: string,
  id: string,
  opts: { ignoreResult: boolean; args?: unknown[] } = { ignoreResult: true },
): CeleryMessage {
  const args = opts.args ?? [];
  const body = Buffer.from(
    JSON.stringify([args, {}, { callbacks: null, errbacks: null, chain: null, chord: null }]),
    'utf8',
  );
  return {
    body,
    options: {
      contentType: 'application/json',
      contentEncoding: 'utf-8',
      correlationId: id,
      replyTo: REPLY_TO,
      deliveryMode: 2,
      priority: 0,
      headers: {
        lang: 'py',
        task,
        id,
        shadow: null,
        eta: null,
        expires: null,
        group: null,
        group_index: null,
        retries: 0,
        timelimit: [null, null],
        root_id: id,
        parent_id: null,
        argsrepr: args.length === 0 ? '()' : `(${args.map((a) => JSON.stringify(a)).join(', ')})`,
        kwargsrepr: '{}',
        origin: ORIGIN,
        ignore_result: opts.ignoreResult,
      },
    },
  };
}
