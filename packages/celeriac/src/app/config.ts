import { z } from 'zod';
import type { Logger } from '../util/logger.ts';
import { parseDuration } from '../util/duration.ts';
import type { BeatEntryDefinition } from '../beat/entry.ts';
import type { QueueDeclaration } from './router.ts';
import { DEFAULT_MAX_BYTES } from '../protocol/size-limits.ts';

const duration = z.union([z.number().nonnegative(), z.string()]);

/** Route a task to a queue: exact names, globs (`'proj.*'`), regexes or functions, as Celery's `task_routes`. */
export type TaskRoute =
  | string
  | {
      queue?: string;
      exchange?: string;
      /** The exchange's type when it is not the queue's (Default: the declared queue's, else direct). */
      exchangeType?: 'direct' | 'topic' | 'fanout';
      routingKey?: string;
      priority?: number;
    };
export type TaskRouter = (
  name: string,
  args: unknown[],
  kwargs: Record<string, unknown>,
) => TaskRoute | undefined;
export type TaskRoutes =
  Record<string, TaskRoute> | Array<Record<string, TaskRoute> | TaskRouter> | TaskRouter;

const optionsSchema = z
  .object({
    /** Broker URL: `amqp://`, `redis://`, `memory://`. Default: env CELERIAC_BROKER_URL, else `memory://`. */
    broker: z.string().optional(),
    /** Result backend URL: `redis://`, `rpc://`, `memory://`, SQL URLs. Default: env CELERIAC_RESULT_BACKEND, else none. */
    backend: z.string().optional(),
    /** The queue tasks go to when no route says otherwise. (Default: `celery`) */
    defaultQueue: z.string().min(1).default('celery'),
    /** The app's time zone for ETAs and beat. (Default: `UTC`) */
    timezone: z.string().default('UTC'),
    /** How long results are kept: ms or `'1d'`; `null` keeps them forever. (Default: 1 day) */
    resultExpires: duration.nullable().default('1d'),
    /** Store name, args, kwargs, worker, retries and queue with each result. (Default: false) */
    resultExtended: z.boolean().default(false),
    /** Ack after the task finished instead of before it starts. (Default: false, as Celery) */
    acksLate: z.boolean().default(false),
    /** With acksLate, a task whose worker died is given back to the broker. (Default: false) */
    rejectOnWorkerLost: z.boolean().default(false),
    /** Store STARTED when a task begins. (Default: false) */
    trackStarted: z.boolean().default(false),
    /** Do not store SUCCESS results. (Default: false) */
    ignoreResult: z.boolean().default(false),
    /** Tasks the worker runs at once. (Default: 10 for the async pool) */
    concurrency: z.number().int().positive().default(10),
    /** Unacked messages per unit of concurrency. (Default: 4) */
    prefetchMultiplier: z.number().int().nonnegative().default(4),
    /** Retries before a task fails for good; null is unlimited. (Default: 3) */
    maxRetries: z.number().int().nonnegative().nullable().default(3),
    /** Delay of `retry()` without a countdown. (Default: 180 s) */
    defaultRetryDelay: duration.default('180s'),
    /** ETAs further away than this are parked in the broker instead of held unacked. (Default: 15 min) */
    etaParkAfter: duration.default('15m'),
    /** How long a warm shutdown waits for running tasks. (Default: 30 s) */
    shutdownGrace: duration.default('30s'),
    /** Broker heartbeat. (Default: 60 s) */
    brokerHeartbeat: duration.default('60s'),
    /** Tries to reach the broker before giving up; null retries forever. (Default: null) */
    brokerConnectionMaxRetries: z.number().int().nonnegative().nullable().default(null),
    /** Send task events (`-E`). (Default: false) */
    sendEvents: z.boolean().default(false),
    /** Send `task-sent` events from clients. (Default: false) */
    sendSentEvent: z.boolean().default(false),
    /** Queue routing, evaluated on the client. */
    taskRoutes: z.custom<TaskRoutes>().optional(),
    /**
     * Queues with their exchange and arguments (Celery's `task_queues`): the client and `worker -Q`
     * declare them identically; an undeclared queue is a durable direct queue. See `QueueDeclaration`.
     */
    queues: z.array(z.custom<QueueDeclaration>()).default([]),
    /** `x-max-priority` for every classic queue not declaring its own (Celery's `task_queue_max_priority`). */
    taskQueueMaxPriority: z.number().int().min(1).max(255).optional(),
    /** Transport options passed to the broker adapter (e.g. Redis `visibilityTimeout`, `globalKeyprefix`). */
    brokerOptions: z.record(z.string(), z.unknown()).default({}),
    /** Beat's periodic tasks by entry name (Celery's `beat_schedule`); see `BeatEntryDefinition`. */
    beatSchedule: z.record(z.string(), z.custom<BeatEntryDefinition>()).default({}),
    /** The file beat keeps last-run times in (file scheduler). (Default: `celeriac-beat-schedule.json`) */
    beatScheduleFilename: z.string().min(1).default('celeriac-beat-schedule.json'),
    /** Longest sleep between beat's checks. (Default: 300 s, as Celery) */
    beatMaxLoopInterval: duration.default('300s'),
    /**
     * Largest task message body in bytes: a client throws MessageTooLargeError instead of publishing,
     * a worker rejects (dead-letters) a larger one it receives; null: no limit. (Default: 10 MiB)
     */
    taskMessageMaxBytes: z.number().int().positive().nullable().default(DEFAULT_MAX_BYTES),
    /** Largest result (as JSON, bytes) a worker stores; a larger one is stored as FAILURE ResultTooLargeError; null: no limit. (Default: 10 MiB) */
    resultMaxBytes: z.number().int().positive().nullable().default(DEFAULT_MAX_BYTES),
    /** Logger (pino). Default: a silent one for libraries; the CLI passes a real one. */
    logger: z.custom<Logger>().optional(),
  })
  .strict();

export type CeleriacOptions = z.input<typeof optionsSchema>;

/** Options with every default filled in and durations in ms; frozen. */
export interface ResolvedConfig extends Readonly<
  Omit<
    z.output<typeof optionsSchema>,
    | 'resultExpires'
    | 'defaultRetryDelay'
    | 'etaParkAfter'
    | 'shutdownGrace'
    | 'brokerHeartbeat'
    | 'logger'
    | 'beatMaxLoopInterval'
  >
> {
  readonly broker: string;
  readonly backend: string | undefined;
  readonly resultExpiresMs: number | null;
  readonly defaultRetryDelayMs: number;
  readonly etaParkAfterMs: number;
  readonly shutdownGraceMs: number;
  readonly brokerHeartbeatMs: number;
  readonly beatMaxLoopIntervalMs: number;
}

/** Resolves options once: env fallbacks, defaults, durations to ms; throws with the fix on bad input. */
export function resolveConfig(
  options: CeleriacOptions = {},
  env: NodeJS.ProcessEnv = process.env,
): ResolvedConfig {
  const parsed = optionsSchema.safeParse(options);
  if (!parsed.success) {
    const issues = parsed.error.issues
      .map((i) => `${i.path.join('.') || '(options)'}: ${i.message}`)
      .join('; ');
    throw new TypeError(`invalid Celeriac options: ${issues}`);
  }
  const o = parsed.data;
  const { logger: _logger, ...rest } = o;
  return Object.freeze({
    ...rest,
    broker: o.broker ?? env.CELERIAC_BROKER_URL ?? 'memory://',
    backend: o.backend ?? (env.CELERIAC_RESULT_BACKEND || undefined),
    resultExpiresMs: o.resultExpires === null ? null : parseDuration(o.resultExpires, 'resultExpires'),
    defaultRetryDelayMs: parseDuration(o.defaultRetryDelay, 'defaultRetryDelay'),
    etaParkAfterMs: parseDuration(o.etaParkAfter, 'etaParkAfter'),
    shutdownGraceMs: parseDuration(o.shutdownGrace, 'shutdownGrace'),
    brokerHeartbeatMs: parseDuration(o.brokerHeartbeat, 'brokerHeartbeat'),
    beatMaxLoopIntervalMs: parseDuration(o.beatMaxLoopInterval, 'beatMaxLoopInterval'),
  });
}
