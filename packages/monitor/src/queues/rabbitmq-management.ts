import { z } from 'zod';
import type { QueueReading } from './queue-probe.ts';

const Rate = z.object({ rate: z.number() }).partial().optional();
/** The fields of `GET /api/queues/{vhost}/{name}` we read (RabbitMQ management HTTP API). */
const QueueJson = z.object({
  messages_ready: z.number().optional(),
  messages_unacknowledged: z.number().optional(),
  consumers: z.number().optional(),
  message_stats: z.object({ publish_details: Rate, deliver_get_details: Rate }).partial().optional(),
});

/**
 * A small client of RabbitMQ's management API, as Flower's `--broker-api` uses it. Credentials come
 * from the API URL (`http://user:pass@host:15672/api/`) and go in a Basic header, never in logs.
 */
export class RabbitManagementApi {
  /** False after a failed call, until one succeeds. */
  healthy = false;
  lastError: string | undefined;
  private readonly base: string;
  private readonly authorization: string | undefined;
  private readonly vhost: string;

  constructor(apiUrl: string, brokerUrl: string) {
    const url = new URL(apiUrl.endsWith('/') ? apiUrl : `${apiUrl}/`);
    if (url.username || url.password) {
      const user = decodeURIComponent(url.username);
      const pass = decodeURIComponent(url.password);
      this.authorization = `Basic ${Buffer.from(`${user}:${pass}`).toString('base64')}`;
      url.username = '';
      url.password = '';
    }
    this.base = url.toString();
    // kombu's rule: the broker URL's path minus its first slash is the vhost; empty is '/'.
    const path = new URL(brokerUrl).pathname.slice(1);
    this.vhost = path === '' ? '/' : decodeURIComponent(path);
  }

  /** Readings for every queue, or undefined when the API did not answer (the caller falls back). */
  async queues(names: readonly string[]): Promise<Map<string, QueueReading> | undefined> {
    try {
      const out = new Map<string, QueueReading>();
      for (const name of names) out.set(name, await this.queue(name));
      this.healthy = true;
      this.lastError = undefined;
      return out;
    } catch (error) {
      this.healthy = false;
      this.lastError = error instanceof Error ? error.message : String(error);
      return undefined;
    }
  }

  private async queue(name: string): Promise<QueueReading> {
    const url = new URL(`queues/${encodeURIComponent(this.vhost)}/${encodeURIComponent(name)}`, this.base);
    const response = await fetch(url, {
      headers: {
        accept: 'application/json',
        ...(this.authorization && { authorization: this.authorization }),
      },
      signal: AbortSignal.timeout(3000),
    });
    if (response.status === 404) {
      await response.body?.cancel();
      return { exists: false, ready: null, unacked: null, consumers: null };
    }
    if (!response.ok) {
      await response.body?.cancel();
      throw new Error(`management API answered ${response.status} for queue ${name}`);
    }
    const parsed = QueueJson.safeParse(await response.json());
    if (!parsed.success) throw new Error(`management API: unexpected reply for queue ${name}`);
    const q = parsed.data;
    return {
      exists: true,
      ready: q.messages_ready ?? null,
      unacked: q.messages_unacknowledged ?? null,
      consumers: q.consumers ?? null,
      publishRate: q.message_stats?.publish_details?.rate ?? 0,
      deliverRate: q.message_stats?.deliver_get_details?.rate ?? 0,
    };
  }
}
