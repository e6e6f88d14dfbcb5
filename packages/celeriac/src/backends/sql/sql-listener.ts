import type { Logger } from '../../util/logger.ts';

export const NOTIFY_CHANNEL = 'celeriac_task_result';

/**
 * PostgreSQL LISTEN on one dedicated connection: each stored state NOTIFYs its task id, so
 * `get()` wakes without polling. Reconnects with back-off; `onReconnect` lets the backend re-check
 * what it may have missed while the connection was down.
 */
export class PgListener {
  private client: import('pg').Client | undefined;
  private closed = false;
  private retryTimer: NodeJS.Timeout | undefined;

  constructor(
    private readonly url: string,
    private readonly logger: Logger,
    private readonly onTaskId: (taskId: string) => void,
    private readonly onReconnect: () => void,
  ) {}

  async start(): Promise<void> {
    const pg = await import('pg');
    const client = new pg.default.Client({ connectionString: this.url });
    client.on('notification', (n) => n.payload && this.onTaskId(n.payload));
    client.on('error', (error) => this.lost(error));
    client.on('end', () => this.lost(new Error('connection ended')));
    await client.connect();
    await client.query(`LISTEN ${NOTIFY_CHANNEL}`);
    this.client = client;
  }

  async close(): Promise<void> {
    this.closed = true;
    if (this.retryTimer) clearTimeout(this.retryTimer);
    await this.client?.end().catch(() => undefined);
  }

  private lost(error: Error, attempt = 0): void {
    if (this.closed || (attempt === 0 && !this.client)) return;
    if (attempt === 0)
      this.logger.warn({ err: error.message }, 'result backend: LISTEN connection lost; reconnecting');
    this.client = undefined;
    const delay = Math.min(30_000, 250 * 2 ** attempt);
    this.retryTimer = setTimeout(() => {
      this.start().then(
        () => {
          this.logger.info('result backend: LISTEN connection restored');
          this.onReconnect();
        },
        (e: Error) => this.lost(e, attempt + 1),
      );
    }, delay);
    this.retryTimer.unref();
  }
}
