import { SMTPServer } from 'smtp-server';
import { parseMail, type ParsedMail } from './mail-parse.ts';

export interface CaughtMail extends ParsedMail {
  id: number;
  receivedAt: Date;
  envelopeFrom: string;
  envelopeTo: string[];
  raw: string;
}

/** Largest message the catcher accepts; feedback emails are a few kB. */
const MAX_MESSAGE_BYTES = 1_000_000;
/** Messages kept in memory; the oldest go first. */
const MAX_KEPT = 200;

/**
 * A local SMTP server for development (MailHog's job): accepts every message on 127.0.0.1 and keeps
 * it in memory for the site's `/outbox`. Plain SMTP, no AUTH, no STARTTLS: it never leaves this machine.
 * `stop()` and `start()` again keep the inbox (the tests use that to play an SMTP outage).
 */
export class SmtpCatcher {
  readonly messages: CaughtMail[] = [];
  private server: SMTPServer | undefined;
  private nextId = 1;
  private listeners = new Set<(mail: CaughtMail) => void>();

  constructor(
    private port: number,
    private readonly host = '127.0.0.1',
  ) {}

  get listeningPort(): number {
    return this.port;
  }

  /** Listens; with port 0 picks a free port and keeps it for later restarts. */
  async start(): Promise<void> {
    if (this.server) return;
    const server = new SMTPServer({
      authOptional: true,
      disabledCommands: ['AUTH', 'STARTTLS'],
      size: MAX_MESSAGE_BYTES,
      banner: 'Celeriac feedback-site SMTP catcher',
      logger: false,
      onData: (stream, session, callback) => {
        const chunks: Buffer[] = [];
        stream.on('data', (chunk: Buffer) => chunks.push(chunk));
        stream.on('end', () => {
          if ((stream as unknown as { sizeExceeded?: boolean }).sizeExceeded) {
            callback(Object.assign(new Error('Message too large'), { responseCode: 552 }));
            return;
          }
          const raw = Buffer.concat(chunks).toString('utf8');
          const mail: CaughtMail = {
            ...parseMail(raw),
            id: this.nextId++,
            receivedAt: new Date(),
            envelopeFrom: session.envelope.mailFrom ? session.envelope.mailFrom.address : '',
            envelopeTo: session.envelope.rcptTo.map((r) => r.address),
            raw,
          };
          this.messages.unshift(mail);
          this.messages.length = Math.min(this.messages.length, MAX_KEPT);
          for (const listener of this.listeners) listener(mail);
          callback();
        });
      },
    });
    server.on('error', () => undefined); // a client's broken connection is not the catcher's failure
    await new Promise<void>((resolve, reject) => {
      const onError = (error: Error) => reject(error);
      server.server.once('error', onError);
      server.listen(this.port, this.host, () => {
        server.server.off('error', onError);
        resolve();
      });
    });
    const address = server.server.address();
    if (address && typeof address === 'object') this.port = address.port;
    this.server = server;
  }

  /** Stops listening and drops open connections; the inbox stays. */
  async stop(): Promise<void> {
    const server = this.server;
    this.server = undefined;
    if (!server) return;
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }

  /** Resolves with the first message (already caught or still to come) that matches. */
  waitFor(match: (mail: CaughtMail) => boolean, timeoutMs = 10_000): Promise<CaughtMail> {
    const found = this.messages.find(match);
    if (found) return Promise.resolve(found);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.listeners.delete(listener);
        reject(new Error(`no matching email within ${timeoutMs} ms`));
      }, timeoutMs);
      const listener = (mail: CaughtMail) => {
        if (!match(mail)) return;
        clearTimeout(timer);
        this.listeners.delete(listener);
        resolve(mail);
      };
      this.listeners.add(listener);
    });
  }
}
