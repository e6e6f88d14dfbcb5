import type { Transport } from '../transports/transport.ts';
import type { Logger } from '../util/logger.ts';
import type { WorkerIntrospection } from '../worker/introspection.ts';
import type { LamportClock } from './lamport-clock.ts';

/** What a command handler gets besides its arguments. */
export interface ControlContext {
  readonly worker: WorkerIntrospection;
  readonly hostname: string;
  readonly clock: LamportClock;
  readonly logger: Logger;
  readonly transport: Transport;
}

/**
 * Handles one remote-control command; the value returned is the node's reply. Return `NO_REPLY`
 * to send nothing (Celery's `shutdown`, which raises SystemExit before replying).
 */
export type ControlHandler = (ctx: ControlContext, args: Record<string, unknown>) => unknown;

export const NO_REPLY: unique symbol = Symbol('celeriac.control.noReply');

/**
 * The command handlers a mailbox dispatches to, by name (celery/worker/control.py `Panel`). Open
 * for extension: the worker runtime registers `rate_limit`, `time_limit`, `pool_grow`, ... with
 * `mailbox.panel.register(name, handler)`.
 */
export class ControlPanel {
  private readonly handlers = new Map<string, ControlHandler>();

  constructor(handlers: Iterable<readonly [string, ControlHandler]> = []) {
    for (const [name, handler] of handlers) this.register(name, handler);
  }

  /** Adds or replaces a handler. */
  register(name: string, handler: ControlHandler): this {
    if (!name) throw new TypeError('control panel: a command needs a name');
    if (typeof handler !== 'function')
      throw new TypeError(`control panel: handler for ${name} is not a function`);
    this.handlers.set(name, handler);
    return this;
  }

  get(name: string): ControlHandler | undefined {
    return this.handlers.get(name);
  }

  has(name: string): boolean {
    return this.handlers.has(name);
  }

  names(): string[] {
    return [...this.handlers.keys()].sort();
  }

  /** A copy that can be extended without touching this one. */
  clone(): ControlPanel {
    return new ControlPanel(this.handlers);
  }
}

/** `{ok: value}` as Celery's `ok()`. */
export const ok = <T>(value: T): { ok: T } => ({ ok: value });
/** `{error: value}` as Celery's `nok()`. */
export const nok = <T>(value: T): { error: T } => ({ error: value });
