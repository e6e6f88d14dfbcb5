/** The `celeryev` event stream (§6): the worker's dispatcher and the monitor's receiver. */
export { EventDispatcher, type EventDispatcherOptions } from './dispatcher.ts';
export { EventReceiver, type EventReceiverOptions } from './receiver.ts';
export {
  attachEvents,
  WorkerEventPublisher,
  type AttachEventsOptions,
  type EventSourceWorker,
} from './worker-events.ts';
export {
  EVENT_EXCHANGE_NAME,
  eventExchange,
  routingKeyFor,
  utcoffsetHours,
  softwareInfo,
  type CeleryEvent,
  type ReceivedEvent,
  type EventMap,
  type EventType,
  type WorkerEventFields,
} from './event-types.ts';
export { formatEvent, EventDumpState } from './dump.ts';
