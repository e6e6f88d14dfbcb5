import type { ContentfulStatusCode } from 'hono/utils/http-status';

/** Every error the HTTP layer answers with: a status, a stable `code` and a message safe to show. */
export class MonitorHttpError extends Error {
  constructor(
    readonly status: ContentfulStatusCode,
    readonly code: string,
    message: string,
    readonly headers: Record<string, string> = {},
  ) {
    super(message);
  }

  toJSON(): { error: { code: string; message: string } } {
    return { error: { code: this.code, message: this.message } };
  }
}

export const notFound = (what: string): MonitorHttpError =>
  new MonitorHttpError(404, 'not_found', `${what} not found`);
export const badRequest = (message: string): MonitorHttpError =>
  new MonitorHttpError(400, 'bad_request', message);
