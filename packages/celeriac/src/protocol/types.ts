/**
 * Celery protocol v2 on the wire (docs/internals/protocol.rst, celery/app/amqp.py `as_task_v2`).
 * Field names are snake_case because that is what crosses the wire to Python.
 */

/** A JSON-serialisable signature (celery/canvas.py `Signature`), see protocol reference §8.1. */
export interface SignatureDict {
  task: string;
  args: unknown[];
  kwargs: Record<string, unknown>;
  options: Record<string, unknown>;
  subtask_type: 'chain' | 'group' | 'chord' | null;
  immutable: boolean;
  chord_size?: number | null;
}

/** The third element of the body: what runs after this task. */
export interface Embed {
  callbacks: SignatureDict[] | null;
  errbacks: SignatureDict[] | null;
  /** Remaining chain steps in reverse execution order (the next step is the last element). */
  chain: SignatureDict[] | null;
  chord: SignatureDict | null;
}

/** The application headers of a v2 task message, every key always present (§1.2). */
export interface TaskHeaders {
  lang: string;
  task: string;
  id: string;
  shadow: string | null;
  eta: string | null;
  expires: string | null;
  group: string | null;
  group_index: number | null;
  retries: number;
  /** `[hard, soft]` in seconds; the docs say the opposite but the code does this. */
  timelimit: [number | null, number | null];
  root_id: string;
  parent_id: string | null;
  argsrepr: string;
  kwargsrepr: string;
  origin: string;
  ignore_result: boolean;
  /** Custom headers from `applyAsync({ headers })` and unknown headers from newer peers. */
  [extra: string]: unknown;
}

/** AMQP basic properties we read and write, named as in AMQP (camelCase on our side). */
export interface MessageProperties {
  contentType: string;
  contentEncoding: string;
  correlationId?: string;
  replyTo?: string;
  /** 1 = transient, 2 = persistent. */
  deliveryMode?: 1 | 2;
  priority?: number;
  /** Per-message TTL in milliseconds, as a string (AMQP). */
  expiration?: string;
  headers: Record<string, unknown>;
}

/** A message as the transports carry it: bytes plus properties. */
export interface RawMessage {
  body: Buffer;
  properties: MessageProperties;
}

/** A decoded task message, normalised from v1 or v2. */
export interface TaskMessage {
  headers: TaskHeaders;
  args: unknown[];
  kwargs: Record<string, unknown>;
  embed: Embed;
  replyTo: string | undefined;
  correlationId: string;
  priority: number | undefined;
  /** The protocol version it arrived in. */
  version: 1 | 2;
}
