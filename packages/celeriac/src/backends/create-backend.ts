import type { Logger } from '../util/logger.ts';
import type { Transport } from '../transports/transport.ts';
import type { ResultBackend } from './backend.ts';

/** What every backend adapter is built with. */
export interface BackendOptions {
  logger: Logger;
  /** Default result lifetime; null keeps results forever. */
  resultExpiresMs: number | null;
  /** The client's reply address (rpc:// replies come to a queue of this name). */
  oid: string;
  /** The app's broker connection, for rpc:// (which keeps results on the broker). */
  getBrokerTransport: () => Promise<Transport>;
}

export async function createBackend(url: string, options: BackendOptions): Promise<ResultBackend> {
  const scheme = url.slice(0, Math.max(0, url.indexOf(':'))).toLowerCase();
  switch (scheme) {
    case 'memory': {
      const { MemoryBackend } = await import('./memory/memory-backend.ts');
      return new MemoryBackend(url);
    }
    case 'redis':
    case 'rediss': {
      const { RedisBackend } = await import('./redis/redis-backend.ts');
      return new RedisBackend(url, options);
    }
    case 'rpc': {
      const { RpcBackend } = await import('./rpc/rpc-backend.ts');
      return new RpcBackend(url, options);
    }
    case 'postgres':
    case 'postgresql':
    case 'mysql':
    case 'sqlite': {
      const { SqlBackend } = await import('./sql/sql-backend.ts');
      return new SqlBackend(url, options);
    }
    default:
      throw new TypeError(
        `unsupported result backend URL ${JSON.stringify(url)}: use redis://, rpc://, memory://, postgresql://, mysql:// or sqlite://`,
      );
  }
}
