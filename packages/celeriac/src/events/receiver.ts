import type { Celeriac } from '../app/celeriac.ts';
import { ControlClient } from '../control/control-client.ts';
import { LamportClock } from '../control/lamport-clock.ts';
import { decodePayload } from '../protocol/codec.ts';
import type { Consumer, Delivery, QueueSpec, Transport } from '../transports/transport.ts';
import { uuid } from '../util/ids.ts';
import type { Logger } from '../util/logger.ts';
import { eventExchange, type EventType, type ReceivedEvent } from './event-types.ts';

export interface EventReceiverOptions {
  /** (Default: `app.logger`) */
  logger?: Logger;
  /** Broadcast the pidbox `heartbeat` on start so workers announce themselves. (Default: true) */
  wakeupWorkers?: boolean;
  /** Queue name. (Default: `celeryev.<uuid4>`, as Celery's receivers) */
  queueName?: string;
  /** Called once per message before its events (monitors count `task.multi` batches per node). */
  onMessage?: (message: { routingKey: string; hostname: unknown; events: number }) => void;
}

type AnyListener = (event: ReceivedEvent) => void;

/**
 * Reads the `celeryev` stream (celery/events/receiver.py `EventReceiver`): a private, self-deleting
 * queue bound with `#`, consumed without acks. Handles single events and `task.multi` lists;
 * a malformed message or a throwing listener is logged and skipped, never fatal. It consumes on
 * the app's connection (`app.connection()`), so it stops when the app is closed.
 *
 * @example
 * const receiver = new EventReceiver(app);
 * receiver.on('task-succeeded', (e) => console.log(e.uuid, e.result, e.runtime));
 * receiver.on('*', (e) => console.log(e.type));
 * await receiver.start();
 * await receiver.stop();
 */
export class EventReceiver {
  readonly clock = new LamportClock();
  readonly queueName: string;
  /** Messages and events seen; `batches` counts list bodies (`task.multi`). */
  readonly counts = { messages: 0, events: 0, batches: 0, malformed: 0 };
  private readonly logger: Logger;
  private readonly listeners = new Map<string, Set<AnyListener>>();
  private consumer: Consumer | undefined;
  private transport: Transport | undefined;
  private lastMalformedLogMs = -Infinity;
  private malformedUnlogged = 0;

  constructor(
    private readonly app: Celeriac,
    private readonly options: EventReceiverOptions = {},
  ) {
    this.logger = options.logger ?? app.logger;
    this.queueName = options.queueName ?? `celeryev.${uuid()}`;
  }

  /** Listens to one event type, or to every event with `'*'`; returns the unsubscribe function. */
  on<T extends EventType>(type: T, listener: (event: ReceivedEvent<T>) => void): () => void;
  on(type: '*', listener: (event: ReceivedEvent) => void): () => void;
  on(type: string, listener: AnyListener): () => void {
    let set = this.listeners.get(type);
    if (!set) this.listeners.set(type, (set = new Set()));
    set.add(listener);
    return () => {
      set.delete(listener);
    };
  }

  /** Declares the queue, starts consuming and wakes the workers. */
  async start(): Promise<void> {
    if (this.consumer) return;
    const transport = (this.transport = await this.app.connection());
    const exchange = eventExchange(transport);
    await transport.declareExchange(exchange);
    const queue: QueueSpec = {
      name: this.queueName,
      durable: false,
      autoDelete: true,
      // celery/events/receiver.py: app.conf.event_queue_ttl (5 s) and event_queue_expires (60 s).
      arguments: { 'x-message-ttl': 5_000, 'x-expires': 60_000 },
      bindings: [{ exchange, routingKey: '#' }],
    };
    await transport.declareQueue(queue);
    this.consumer = await transport.consume([queue.name], { prefetch: 0, noAck: true }, this.onDelivery);
    if (this.options.wakeupWorkers ?? true) await this.wakeupWorkers();
  }

  /** Asks every worker for a heartbeat now (the pidbox `heartbeat` cast). */
  async wakeupWorkers(): Promise<void> {
    const control = new ControlClient(this.app, { clock: this.clock });
    try {
      await control.cast('heartbeat');
    } catch (error) {
      this.logger.warn({ err: error }, 'events: could not broadcast heartbeat to wake the workers');
    } finally {
      await control.close();
    }
  }

  /** Stops consuming and deletes the queue (it would expire on its own). */
  async stop(): Promise<void> {
    const consumer = this.consumer;
    this.consumer = undefined;
    if (!consumer) return;
    await consumer
      .cancel()
      .catch((error: unknown) => this.logger.warn({ err: error }, 'events: cancel failed'));
    await this.transport
      ?.deleteQueue(this.queueName)
      .catch((error: unknown) => this.logger.debug({ err: error }, 'events: queue already gone'));
  }

  /** Handles one message; never throws. Exposed for tests. */
  readonly onDelivery = (delivery: Delivery): void => {
    this.counts.messages++;
    let body: unknown;
    try {
      body = decodePayload(delivery.message);
    } catch (error) {
      return this.malformed(delivery, `cannot decode: ${(error as Error).message}`);
    }
    this.options.onMessage?.({
      routingKey: delivery.routingKey,
      hostname: delivery.message.properties.headers?.hostname,
      events: Array.isArray(body) ? body.length : 1,
    });
    if (Array.isArray(body)) {
      this.counts.batches++;
      for (const item of body) this.process(delivery, item);
    } else {
      this.process(delivery, body);
    }
  };

  private process(delivery: Delivery, body: unknown): void {
    if (typeof body !== 'object' || body === null || Array.isArray(body))
      return this.malformed(delivery, 'an event must be a JSON object');
    const event = body as Record<string, unknown>;
    if (typeof event.type !== 'string' || event.type === '')
      return this.malformed(delivery, 'the event has no type');
    this.counts.events++;
    // celery/events/receiver.py `event_from_message`: clients' task-sent clocks lag by one.
    if (event.type === 'task-sent') this.clock.adjust(-1);
    else if (typeof event.clock === 'number') this.clock.adjust(event.clock);
    event.local_received = Date.now() / 1000;
    this.emit(event.type, event as unknown as ReceivedEvent);
    this.emit('*', event as unknown as ReceivedEvent);
  }

  private emit(key: string, event: ReceivedEvent): void {
    const set = this.listeners.get(key);
    if (!set) return;
    for (const listener of set) {
      try {
        listener(event);
      } catch (error) {
        this.logger.error({ err: error, type: event.type }, 'events: a listener failed');
      }
    }
  }

  private malformed(delivery: Delivery, reason: string): void {
    this.counts.malformed++;
    // A broken sender can send thousands a second: the first one, then one line per 10 s.
    const now = Date.now();
    if (now - this.lastMalformedLogMs < 10_000) {
      this.malformedUnlogged++;
      return;
    }
    this.lastMalformedLogMs = now;
    const from = delivery.message.properties.headers?.hostname;
    const more =
      this.malformedUnlogged > 0 ? ` (and ${this.malformedUnlogged} more since the last report)` : '';
    this.malformedUnlogged = 0;
    this.logger.error(
      { routingKey: delivery.routingKey, hostname: from, reason, malformedTotal: this.counts.malformed },
      `events: dropped a malformed event (routing key ${delivery.routingKey}${typeof from === 'string' ? `, from ${from}` : ''}): ${reason}${more}`,
    );
  }
}
