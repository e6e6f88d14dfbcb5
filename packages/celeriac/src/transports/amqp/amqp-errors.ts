/** Every AMQP transport failure the caller can see; `code` is stable, `cause` holds amqplib's error. */
export class AmqpTransportError extends Error {
  readonly code: string;
  constructor(code: string, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'AmqpTransportError';
    this.code = code;
  }
}

/** `connect()` gave up after `connectionMaxRetries` attempts. */
export class AmqpConnectError extends AmqpTransportError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('AMQP_CONNECT_FAILED', message, options);
    this.name = 'AmqpConnectError';
  }
}

/** A publish the broker did not confirm: nacked, channel closed before the confirm, or no connection in time. */
export class AmqpPublishError extends AmqpTransportError {
  constructor(
    code:
      'AMQP_PUBLISH_NACKED' | 'AMQP_PUBLISH_UNCONFIRMED' | 'AMQP_PUBLISH_TIMEOUT' | 'AMQP_PUBLISH_INVALID',
    message: string,
    options?: { cause?: unknown },
  ) {
    super(code, message, options);
    this.name = 'AmqpPublishError';
  }
}

/** The transport was closed (or gave up reconnecting); nothing more can be sent. */
export class AmqpClosedError extends AmqpTransportError {
  constructor(message = 'AMQP transport is closed', options?: { cause?: unknown }) {
    super('AMQP_CLOSED', message, options);
    this.name = 'AmqpClosedError';
  }
}
