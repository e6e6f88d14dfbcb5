import nodemailer from 'nodemailer';
import type { SiteConfig } from './config.ts';

/** The SMTP server could not be reached or answered "try later" (4xx): worth a retry. */
export class SmtpUnavailableError extends Error {
  readonly code = 'SMTP_UNAVAILABLE';
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'SmtpUnavailableError';
  }
}

/** The task was given fields that do not pass the form's checks: retrying cannot help. */
export class InvalidFeedbackError extends Error {
  readonly code = 'INVALID_FEEDBACK';
  constructor(message: string) {
    super(message);
    this.name = 'InvalidFeedbackError';
  }
}

export interface OutgoingMail {
  to: { name: string; address: string };
  subject: string;
  text: string;
}

export interface SentMail {
  messageId: string;
  accepted: string[];
}

/** Network failures nodemailer reports by code (nodemailer/lib/smtp-connection). */
const TRANSIENT_CODES = new Set([
  'ECONNECTION',
  'ESOCKET',
  'ETIMEDOUT',
  'EDNS',
  'ECONNREFUSED',
  'ECONNRESET',
  'EPROTOCOL',
]);

/**
 * Sends through `SMTP_URL`, or through the local catcher (plain SMTP on 127.0.0.1) when unset.
 * One connection per message: a worker may send rarely, and a pooled connection would go stale.
 */
export function createMailer(config: SiteConfig) {
  const transport = config.smtpUrl
    ? nodemailer.createTransport(config.smtpUrl)
    : nodemailer.createTransport({
        host: '127.0.0.1',
        port: config.smtpCatcherPort,
        secure: false,
        ignoreTLS: true,
        connectionTimeout: 5000,
        greetingTimeout: 5000,
        socketTimeout: 15_000,
      });
  return {
    async send(mail: OutgoingMail): Promise<SentMail> {
      try {
        const info = await transport.sendMail({ from: config.mailFrom, ...mail });
        return { messageId: info.messageId, accepted: info.accepted.map(String) };
      } catch (error) {
        const e = error as { code?: string; responseCode?: number; message?: string };
        if (
          TRANSIENT_CODES.has(e.code ?? '') ||
          (e.responseCode !== undefined && e.responseCode >= 400 && e.responseCode < 500)
        ) {
          throw new SmtpUnavailableError(`SMTP server unavailable: ${e.message ?? String(error)}`, {
            cause: error,
          });
        }
        throw error;
      }
    },
    close(): void {
      transport.close();
    },
  };
}
