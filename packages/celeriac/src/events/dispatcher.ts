import { LamportClock } from '../control/lamport-clock.ts';
import type { RawMessage } from '../protocol/types.ts';
import type { Transport } from '../transports/transport.ts';
import type { Logger } from '../util/logger.ts';
import {
  eventExchange,
  routingKeyFor,
  utcoffsetHours,
  type EventMap,
  type EventType,
} from './event-types.ts';

export interface EventDispatcherOptions {
  /** The node name every event carries (and the `hostname` header). */
  hostname: string;
  logger: Logger;
  /** The worker's Lamport clock, shared with its mailbox. (Default: a new one) */
  clock?: LamportClock;
  /** Task events sent as one `task.multi` message. (Default: 24, Celery's `buffer_limit`) */
  bufferLimit?: number;
  /** Longest a buffered task event waits before it is sent. (Default: 100 ms) */
  flushIntervalMs?: number;
  /** Event messages awaiting the broker's confirm; more task events wait in the buffer. (Default: 64) */
  maxInFlight?: number;
  /** Task events held while the broker lags; beyond this new ones are dropped. (Default: 10,000) */
  maxBuffered?: number;
}

/** Standard fields a buffered event may already carry; the dispatcher stamps its own. */
type Fields = Record<string, unknown>;

/**
 * Publishes events to the `celeryev` exchange (celery/events/dispatcher.py `EventDispatcher`).
 *
 * Task events are buffered and sent as one `task.multi` message with a list body (Celery's
 * `buffer_group=['task']`, limit 24), on a short timer or when the buffer is full; worker events
 * go out at once. Events are best-effort, as in Celery: `send` never throws and never waits; a
 * failed publish drops its events, logged once per outage, and publishes stuck behind an
 * unreachable broker are bounded by `maxInFlight`.
 *
 * @example
 * const dispatcher = new EventDispatcher(transport, { hostname: 'celery@w1', logger });
 * await dispatcher.start();
 * dispatcher.send('worker-online', { freq: 2, ...softwareInfo() });
 * await dispatcher.close();
 */
export class EventDispatcher {
  readonly clock: LamportClock;
  readonly hostname: string;
  /** Events handed to the broker (confirmed), dropped (publish failed or too many in flight). */
  readonly counts = { sent: 0, dropped: 0, messages: 0 };
  private readonly logger: Logger;
  private readonly bufferLimit: number;
  private readonly flushIntervalMs: number;
  private readonly maxInFlight: number;
  private readonly maxBuffered: number;
  private readonly pid = process.pid;
  private readonly properties: RawMessage['properties'];
  private readonly exchangeName: string;
  private utcoffset = utcoffsetHours();
  private buffer: Fields[] = [];
  private flushTimer: NodeJS.Timeout | undefined;
  private readonly inFlight = new Set<Promise<void>>();
  private declared: Promise<void> | undefined;
  private failing = false;
  private droppedInOutage = 0;
  private closed = false;

  constructor(
    private readonly transport: Transport,
    options: EventDispatcherOptions,
  ) {
    this.hostname = options.hostname;
    this.logger = options.logger;
    this.clock = options.clock ?? new LamportClock();
    this.bufferLimit = options.bufferLimit ?? 24;
    this.flushIntervalMs = options.flushIntervalMs ?? 100;
    this.maxInFlight = options.maxInFlight ?? 64;
    this.maxBuffered = options.maxBuffered ?? 10_000;
    if (!(this.bufferLimit >= 1)) throw new RangeError(`bufferLimit must be >= 1, got ${this.bufferLimit}`);
    this.exchangeName = eventExchange(transport).name;
    // The same object for every message: the headers never change (celery/events/dispatcher.py `headers`).
    this.properties = Object.freeze({
      contentType: 'application/json',
      contentEncoding: 'utf-8',
      deliveryMode: 1,
      headers: Object.freeze({ hostname: this.hostname }),
    }) as RawMessage['properties'];
  }

  /** Declares the exchange. A failure is logged, not thrown: the next flush declares again. */
  async start(): Promise<void> {
    await this.declareExchange();
  }

  /**
   * Sends one event: task events join the `task.multi` buffer, others are published now. The
   * standard fields (hostname, utcoffset, pid, clock, and timestamp unless it is already there,
   * i.e. when the event happened) are stamped onto `fields` itself: the dispatcher takes the
   * object over rather than copying it, because a copy per event was the hot path's main cost.
   */
  send<T extends EventType>(type: T, fields: EventMap[T] | Fields): void {
    if (this.closed) return;
    const event = fields as Fields;
    event.type = type;
    event.hostname = this.hostname;
    if (typeof event.timestamp !== 'number') event.timestamp = Date.now() / 1000;
    event.utcoffset = this.utcoffset;
    event.pid = this.pid;
    event.clock = this.clock.forward();
    if (type.startsWith('task-')) {
      if (this.buffer.length >= this.maxBuffered) return this.drop(1, new Error('the event buffer is full'));
      this.buffer.push(event);
      if (this.buffer.length >= this.bufferLimit) this.flush();
      else this.flushTimer ??= setTimeout(this.onFlushTimer, this.flushIntervalMs);
    } else if (this.inFlight.size >= this.maxInFlight) {
      this.drop(1, new Error(`${this.inFlight.size} event messages still waiting for the broker`));
    } else {
      this.publish(event, routingKeyFor(type), 1);
    }
  }

  /**
   * Sends the buffered task events now, as `task.multi` messages of up to `bufferLimit` events.
   * While `maxInFlight` messages await the broker the rest stay buffered; a confirm flushes again.
   */
  flush(): void {
    if (this.flushTimer) {
      clearTimeout(this.flushTimer);
      this.flushTimer = undefined;
    }
    const buffer = this.buffer;
    let start = 0;
    while (start < buffer.length && this.inFlight.size < this.maxInFlight) {
      const events = buffer.slice(start, start + this.bufferLimit);
      start += events.length;
      this.publish(events, 'task.multi', events.length);
    }
    this.buffer = start === 0 ? buffer : buffer.slice(start);
  }

  /** Flushes, waits (up to `timeoutMs`) for publishes in flight, and sends nothing more. */
  async close(timeoutMs = 2_000): Promise<void> {
    if (this.closed) return;
    this.flush();
    this.closed = true;
    const deadline = Date.now() + timeoutMs;
    // Buffered events leave as confirms free the window; give up at the deadline.
    while (this.inFlight.size > 0 && Date.now() < deadline) {
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([
        Promise.race([...this.inFlight]).catch(() => undefined),
        new Promise((resolve) => (timer = setTimeout(resolve, deadline - Date.now()))),
      ]);
      clearTimeout(timer);
    }
    if (this.buffer.length > 0)
      this.drop(this.buffer.length, new Error('closed before the broker took them'));
    this.buffer = [];
  }

  private readonly onFlushTimer = (): void => {
    this.flushTimer = undefined;
    this.flush();
  };

  private declareExchange(): Promise<void> {
    this.declared ??= this.transport
      .declareExchange(eventExchange(this.transport))
      .catch((error: unknown) => {
        this.declared = undefined;
        this.logger.warn({ err: error }, 'events: could not declare the celeryev exchange; will retry');
      });
    return this.declared;
  }

  private publish(body: Fields | Fields[], routingKey: string, count: number): void {
    // A fresh hour boundary (DST) is picked up on the next message, as Celery calls utcoffset() per event.
    this.utcoffset = utcoffsetHours();
    // Plain JSON.stringify: events are plain data, and encodeJson's replacer costs ~10 µs an event.
    const message: RawMessage = { body: Buffer.from(JSON.stringify(body)), properties: this.properties };
    const route = { exchange: this.exchangeName, routingKey };
    const published = (this.declared ?? this.declareExchange())
      .then(() => this.transport.publish(message, route))
      .then(
        () => {
          this.counts.sent += count;
          this.counts.messages++;
          if (this.failing) {
            this.failing = false;
            this.logger.info(
              { dropped: this.droppedInOutage },
              `events: publishing again (${this.droppedInOutage} event(s) dropped meanwhile)`,
            );
            this.droppedInOutage = 0;
          }
        },
        (error: unknown) => this.drop(count, error),
      )
      .finally(() => {
        this.inFlight.delete(published);
        // Events held back while the window was full go out now, or on the timer if too few.
        if (this.buffer.length >= this.bufferLimit) this.flush();
        else if (this.buffer.length > 0 && !this.closed)
          this.flushTimer ??= setTimeout(this.onFlushTimer, this.flushIntervalMs);
        else if (this.buffer.length > 0) this.flush();
      });
    this.inFlight.add(published);
  }

  private drop(count: number, error: unknown): void {
    this.counts.dropped += count;
    this.droppedInOutage += count;
    if (this.failing) return;
    this.failing = true;
    this.logger.warn(
      { err: error },
      `events: cannot publish to ${this.exchangeName} (${(error as Error)?.message ?? error}); dropping events until the broker takes them again`,
    );
  }
}
