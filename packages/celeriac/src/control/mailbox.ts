import { decodePayload } from '../protocol/codec.ts';
import { encodeJson } from '../protocol/json.ts';
import type { Consumer, Delivery, Transport } from '../transports/transport.ts';
import type { Logger } from '../util/logger.ts';
import type { WorkerIntrospection } from '../worker/introspection.ts';
import { COMMANDS } from './commands.ts';
import { ControlPanel, NO_REPLY, type ControlContext } from './control-panel.ts';
import { CONTROL_HANDLERS } from './handlers/control-handlers.ts';
import { INSPECT_HANDLERS } from './handlers/inspect-handlers.ts';
import { RUNTIME_HANDLERS } from './handlers/runtime-handlers.ts';
import { LamportClock } from './lamport-clock.ts';
import { matchNode } from './matcher.ts';
import { nodeQueue, PIDBOX_EXCHANGE, REPLY_EXCHANGE, type PidboxRequest } from './pidbox.ts';

/** A panel with every built-in command; each mailbox gets its own copy to extend. */
export function defaultControlPanel(): ControlPanel {
  return new ControlPanel([...INSPECT_HANDLERS, ...CONTROL_HANDLERS, ...RUNTIME_HANDLERS]);
}

export interface MailboxOptions {
  logger: Logger;
  /** Commands to answer. (Default: `defaultControlPanel()`) */
  panel?: ControlPanel;
  /** The worker's Lamport clock, shared with its events. (Default: a new one) */
  clock?: LamportClock;
}

/**
 * A worker's remote-control endpoint (kombu/pidbox.py `Node`, celery/worker/pidbox.py): consumes
 * `<hostname>.celery.pidbox`, runs the commands addressed to this node and replies to the caller.
 * Nothing a client sends can crash the worker: bad requests are logged and, when the caller waits
 * for a reply, answered with `{"error": ...}`.
 *
 * @example
 * const mailbox = await startMailbox(worker, transport, logger);
 * mailbox.panel.register('rate_limit', (ctx, args) => ...);
 * await mailbox.stop();
 */
export class Mailbox {
  readonly panel: ControlPanel;
  readonly clock: LamportClock;
  private readonly logger: Logger;
  private readonly context: ControlContext;
  private consumer: Consumer | undefined;
  private replyExchangeDeclared: Promise<void> | undefined;
  private readonly inFlight = new Set<Promise<void>>();

  constructor(
    private readonly worker: WorkerIntrospection,
    private readonly transport: Transport,
    options: MailboxOptions,
  ) {
    this.panel = options.panel ?? defaultControlPanel();
    this.clock = options.clock ?? new LamportClock();
    this.logger = options.logger;
    this.context = { worker, hostname: worker.hostname, clock: this.clock, logger: this.logger, transport };
  }

  get queueName(): string {
    return nodeQueue(this.worker.hostname).name;
  }

  /** Declares this node's queue and starts answering. Idempotent. */
  async start(): Promise<void> {
    if (this.consumer) return;
    const queue = nodeQueue(this.worker.hostname);
    await this.transport.declareExchange(PIDBOX_EXCHANGE);
    await this.transport.declareQueue(queue);
    this.consumer = await this.transport.consume([queue.name], { prefetch: 0, noAck: true }, (delivery) => {
      const handled = this.handleDelivery(delivery);
      this.inFlight.add(handled);
      void handled.finally(() => this.inFlight.delete(handled));
    });
    this.logger.debug({ queue: queue.name }, 'remote control: listening');
  }

  /** Stops consuming and waits for commands being handled; the queue auto-deletes. */
  async stop(): Promise<void> {
    const consumer = this.consumer;
    this.consumer = undefined;
    await consumer
      ?.cancel()
      .catch((error: unknown) => this.logger.warn({ err: error }, 'remote control: cancel failed'));
    await Promise.allSettled([...this.inFlight]);
  }

  /** Handles one request; never throws. Exposed for tests and for transports that poll. */
  async handleDelivery(delivery: Delivery): Promise<void> {
    // Celery forwards its clock on every control message: clients rarely carry a useful one.
    this.clock.adjust(delivery.message.properties.headers?.clock ?? 0);
    let body: unknown;
    try {
      body = decodePayload(delivery.message);
    } catch (error) {
      this.logger.error({ err: error }, 'remote control: cannot decode message, dropped');
      return;
    }
    if (typeof body !== 'object' || body === null || Array.isArray(body)) {
      this.logger.error({ body }, 'remote control: request is not a JSON object, dropped');
      return;
    }
    const request = body as Partial<PidboxRequest>;
    const replyTo = validReplyTo(request.reply_to);
    try {
      if (!this.addressedToMe(request)) return;
    } catch (error) {
      this.logger.error({ err: error }, 'remote control: bad destination');
      if (replyTo) await this.reply(replyTo, request.ticket, { error: (error as Error).message });
      return;
    }
    const result = await this.dispatch(request);
    if (result !== NO_REPLY && replyTo) await this.reply(replyTo, request.ticket, result ?? null);
  }

  private addressedToMe(request: Partial<PidboxRequest>): boolean {
    const { destination, pattern, matcher } = request;
    if (Array.isArray(destination) && destination.length > 0)
      return destination.includes(this.worker.hostname);
    if (typeof pattern === 'string' && pattern && typeof matcher === 'string' && matcher) {
      return matchNode(this.worker.hostname, pattern, matcher);
    }
    return true;
  }

  private async dispatch(request: Partial<PidboxRequest>): Promise<unknown> {
    const method = request.method;
    if (typeof method !== 'string' || method === '') {
      this.logger.error({ request }, 'remote control: request has no method');
      return { error: 'request has no method' };
    }
    const handler = this.panel.get(method);
    if (!handler) {
      const known = COMMANDS.has(method);
      this.logger.error(
        { method },
        `remote control: ${known ? 'command not available here' : 'no such command'}: ${method}`,
      );
      return {
        error: known ? `command ${method} is not available on this worker yet` : `unknown command ${method}`,
      };
    }
    const args = request.arguments;
    if (args !== undefined && args !== null && (typeof args !== 'object' || Array.isArray(args))) {
      return { error: `arguments of ${method} must be an object` };
    }
    this.logger.debug({ method, arguments: args, ticket: request.ticket }, 'remote control: command');
    try {
      return await handler(this.context, (args as Record<string, unknown> | null) ?? {});
    } catch (error) {
      this.logger.error({ err: error, method }, 'remote control: command failed');
      return { error: error instanceof Error ? `${error.name}: ${error.message}` : String(error) };
    }
  }

  private async reply(
    replyTo: { exchange: string; routing_key: string },
    ticket: unknown,
    result: unknown,
  ): Promise<void> {
    try {
      this.replyExchangeDeclared ??= this.transport.declareExchange({
        ...REPLY_EXCHANGE,
        name: replyTo.exchange,
      });
      await this.replyExchangeDeclared.catch((error: unknown) => {
        this.replyExchangeDeclared = undefined;
        throw error;
      });
      await this.transport.publish(
        {
          body: Buffer.from(encodeJson({ [this.worker.hostname]: result })),
          properties: {
            contentType: 'application/json',
            contentEncoding: 'utf-8',
            deliveryMode: 1,
            headers: { ticket: typeof ticket === 'string' ? ticket : null, clock: this.clock.forward() },
          },
        },
        { exchange: replyTo.exchange, routingKey: replyTo.routing_key },
      );
    } catch (error) {
      // The caller may be gone (its reply queue expired): nothing to do but say so.
      this.logger.warn({ err: error, replyTo }, 'remote control: could not send reply');
    }
  }
}

function validReplyTo(value: unknown): { exchange: string; routing_key: string } | undefined {
  if (typeof value !== 'object' || value === null) return undefined;
  const { exchange, routing_key } = value as Record<string, unknown>;
  return typeof exchange === 'string' && typeof routing_key === 'string' && routing_key
    ? { exchange, routing_key }
    : undefined;
}

/** Creates a mailbox for the worker and starts it. */
export async function startMailbox(
  worker: WorkerIntrospection,
  transport: Transport,
  logger: Logger,
  options: Omit<MailboxOptions, 'logger'> = {},
): Promise<Mailbox> {
  const mailbox = new Mailbox(worker, transport, { ...options, logger });
  await mailbox.start();
  return mailbox;
}
