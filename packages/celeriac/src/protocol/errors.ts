/** Raised when a message cannot be understood; the worker rejects it without requeue and says why. */
export class InvalidMessageError extends Error {
  readonly code: string = 'INVALID_MESSAGE';
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'InvalidMessageError';
  }
}

/** The body could not be decoded at all (not JSON, unknown encoding or compression). */
export class DecodeError extends InvalidMessageError {
  override readonly code: string = 'DECODE_ERROR';
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'DecodeError';
  }
}
