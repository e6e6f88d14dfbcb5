import type { Logger } from '../util/logger.ts';
import type { Transport } from './transport.ts';

/** What every transport adapter is built with. */
export interface TransportOptions {
  logger: Logger;
  /** AMQP heartbeat. */
  heartbeatMs: number;
  /** Connection attempts before `connect()` gives up; null retries forever. */
  connectionMaxRetries: number | null;
  /** Adapter-specific options (`brokerOptions` in the app config). */
  options: Readonly<Record<string, unknown>>;
}

/** Picks the adapter by URL scheme; each adapter's module loads only when its scheme is used. */
export async function createTransport(url: string, options: TransportOptions): Promise<Transport> {
  const scheme = url.slice(0, url.indexOf('://')).toLowerCase();
  switch (scheme) {
    case 'memory': {
      const { MemoryTransport } = await import('./memory/memory-transport.ts');
      return new MemoryTransport(url);
    }
    case 'amqp':
    case 'amqps':
    case 'pyamqp': {
      const { AmqpTransport } = await import('./amqp/amqp-transport.ts');
      return new AmqpTransport(url.replace(/^pyamqp:/, 'amqp:'), options);
    }
    case 'redis':
    case 'rediss': {
      const { RedisTransport } = await import('./redis/redis-transport.ts');
      return new RedisTransport(url, options);
    }
    default:
      throw new TypeError(
        `unsupported broker URL ${JSON.stringify(url)}: use amqp://, redis:// or memory://`,
      );
  }
}
