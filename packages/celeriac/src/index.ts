/**
 * Celeriac: a distributed task queue for TypeScript that speaks Celery's wire protocol.
 * This is the whole public API; anything not exported here is internal.
 */
export { Celeriac, createApp } from './app/celeriac.ts';
export type { CeleriacOptions, ResolvedConfig, TaskRoutes, TaskRoute, TaskRouter } from './app/config.ts';
export { Task } from './task/task.ts';
export type { TaskFunction, BoundTaskFunction } from './task/task.ts';
export type { TaskOptions, ApplyOptions } from './task/options.ts';
export type { TaskContext, RetryOptions } from './task/context.ts';
export {
  Retry,
  Reject,
  Ignore,
  MaxRetriesExceededError,
  NotRegistered,
  SoftTimeLimitExceeded,
  TimeLimitExceeded,
  TaskRevokedError,
  WorkerLostError,
} from './task/errors.ts';
export { AsyncResult } from './result/async-result.ts';
export type { GetOptions } from './result/async-result.ts';
export { TaskError } from './result/exceptions.ts';
export { ResultTimeoutError } from './backends/waiters.ts';
export { States, type TaskState } from './result/states.ts';
export type { ResultMeta, ExceptionInfo } from './result/meta.ts';
export { Signature } from './canvas/signature.ts';
export type { Transport, Delivery, QueueSpec, QueueStats, ExchangeSpec } from './transports/transport.ts';
export type { ResultBackend } from './backends/backend.ts';
export type {
  SqlBackend,
  ListPageOptions,
  ListResultsOptions,
  ResultFilter,
  ResultPage,
  ResultTotal,
  StoredResult,
} from './backends/sql/sql-backend.ts';
export { InvalidMessageError, DecodeError } from './protocol/errors.ts';
export { MessageTooLargeError } from './protocol/size-limits.ts';
export { Worker, WorkerShutdownError } from './worker/worker.ts';
export type { WorkerOptions } from './worker/worker.ts';
export type { TaskEvent, TaskEventType } from './worker/events.ts';
export { chain, Chain } from './canvas/chain.ts';
export { group, Group, GroupResult } from './canvas/group.ts';
export { chord, Chord, ChordResult } from './canvas/chord.ts';
export { xmap, xstarmap, chunks, Chunks } from './canvas/map.ts';
export { QueueDeclarationError, type QueueDeclaration } from './app/router.ts';
export { ChordUnsupportedError } from './backends/chord-backend.ts';
export {
  Beat,
  createBeat,
  openScheduleStore,
  entrySendOptions,
  nextDue,
  describeSchedule,
  SOLAR_EVENTS,
  every,
  crontab,
  solar,
  clocked,
  ConfigFileStore,
  SqlScheduleStore,
  DjangoScheduleStore,
  LocalLease,
  RedisLease,
  SqlLease,
  ScheduleError,
  UnknownTimeZoneError,
  BeatEntryError,
} from './beat/index.ts';
export type {
  BeatOptions,
  BeatSetup,
  BeatEntryInfo,
  BeatEntryDefinition,
  BeatEntry,
  EntryState,
  StoredEntry,
  Schedule,
  ScheduleJson,
  DescribeOptions,
  ScheduleStore,
  BeatLease,
} from './beat/index.ts';
// The monitor's periodic form reads wall times in a zone with the same offset arithmetic as beat.
export { offsetAt as timeZoneOffsetAt } from './beat/timezone.ts';
export {
  EventReceiver,
  type EventReceiverOptions,
  type ReceivedEvent,
  type EventType,
} from './events/index.ts';
export { ControlClient, type CallOptions, type BroadcastTarget } from './control/index.ts';
