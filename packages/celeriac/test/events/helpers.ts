import type { Celeriac } from '../../src/app/celeriac.ts';
import { EventReceiver } from '../../src/events/receiver.ts';
import type { EventType, ReceivedEvent } from '../../src/events/event-types.ts';
import type { Logger } from '../../src/util/logger.ts';

/**
 * A receiver that records what one node sends (the broker and its celeryev exchange are shared
 * with other tests and Python workers, so everything is filtered by hostname).
 */
export class EventLog {
  readonly events: ReceivedEvent[] = [];
  readonly messages: Array<{ routingKey: string; events: number }> = [];
  readonly receiver: EventReceiver;

  constructor(
    app: Celeriac,
    readonly hostname: string,
    options: { logger?: Logger; wakeupWorkers?: boolean } = {},
  ) {
    this.receiver = new EventReceiver(app, {
      wakeupWorkers: false,
      ...options,
      onMessage: (m) => {
        if (m.hostname === hostname) this.messages.push({ routingKey: m.routingKey, events: m.events });
      },
    });
    this.receiver.on('*', (event) => {
      if (event.hostname === hostname) this.events.push(event);
    });
  }

  of<T extends EventType>(type: T, uuid?: string): Array<ReceivedEvent<T>>;
  of(type: string, uuid?: string): ReceivedEvent[];
  of(type: string, uuid?: string): ReceivedEvent[] {
    return this.events.filter(
      (e) => e.type === type && (uuid === undefined || (e as { uuid?: string }).uuid === uuid),
    );
  }

  /** Waits until `count` events of the type (for the task) arrived; returns them. */
  async wait<T extends EventType>(
    type: T,
    uuid?: string,
    count?: number,
    timeoutMs?: number,
  ): Promise<Array<ReceivedEvent<T>>>;
  async wait(type: string, uuid?: string, count?: number, timeoutMs?: number): Promise<ReceivedEvent[]>;
  async wait(type: string, uuid?: string, count = 1, timeoutMs = 10_000): Promise<ReceivedEvent[]> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const found = this.of(type, uuid);
      if (found.length >= count) return found;
      if (Date.now() > deadline)
        throw new Error(
          `timed out waiting for ${count} ${type}${uuid ? ` of ${uuid}` : ''} from ${this.hostname}; got ${this.events.map((e) => e.type).join(', ')}`,
        );
      await new Promise((r) => setTimeout(r, 20));
    }
  }
}
