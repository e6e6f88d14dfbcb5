import { PIDBOX_EXCHANGE } from '../app/control.ts';
import type { ExchangeSpec, QueueSpec } from '../transports/transport.ts';

/**
 * The remote-control entities of namespace `celery` (kombu/pidbox.py `Mailbox`, §7.1). Both sides
 * must declare them with exactly these arguments, or RabbitMQ refuses the second declaration.
 */
export { PIDBOX_EXCHANGE };

/** Replies go to a direct exchange, routed by the caller's oid. */
export const REPLY_EXCHANGE: ExchangeSpec = {
  name: 'reply.celery.pidbox',
  type: 'direct',
  durable: false,
  autoDelete: false,
};

/** `control_queue_expires` (10 s) and `control_queue_ttl` (300 s), as Celery declares them. */
const PIDBOX_QUEUE_ARGUMENTS = Object.freeze({ 'x-expires': 10_000, 'x-message-ttl': 300_000 });

/** A worker's own request queue: `<hostname>.celery.pidbox`, bound to the fanout with key ''. */
export function nodeQueue(hostname: string): QueueSpec {
  return {
    name: `${hostname}.celery.pidbox`,
    durable: false,
    autoDelete: true,
    arguments: { ...PIDBOX_QUEUE_ARGUMENTS },
    bindings: [{ exchange: PIDBOX_EXCHANGE, routingKey: '' }],
  };
}

/** A client's reply queue: `<oid>.reply.celery.pidbox`, bound to the reply exchange with key `<oid>`. */
export function replyQueue(oid: string): QueueSpec {
  return {
    name: `${oid}.reply.celery.pidbox`,
    durable: false,
    autoDelete: true,
    arguments: { ...PIDBOX_QUEUE_ARGUMENTS },
    bindings: [{ exchange: REPLY_EXCHANGE, routingKey: oid }],
  };
}

/** A request as it crosses the wire (`Mailbox._publish`); `ticket` and `reply_to` only on calls. */
export interface PidboxRequest {
  method: string;
  arguments: Record<string, unknown>;
  destination: string[] | null;
  pattern: string | null;
  matcher: string | null;
  ticket?: string;
  reply_to?: { exchange: string; routing_key: string };
}

/** Replies map a node name to what its handler returned: `{"celery@w1": {"ok": "pong"}}`. */
export type PidboxReply = Record<string, unknown>;
