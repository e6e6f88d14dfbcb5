import { RedisTransport } from '../../src/transports/redis/redis-transport.ts';
import { silentLogger } from '../../src/util/logger.ts';
import { describeWith, SERVICES } from '../helpers/services.ts';
import { runTransportConformance } from '../transport-conformance.ts';

// Database 11 is this suite's own.
await describeWith(['redis'], 'redis transport', () => {
  runTransportConformance(
    'redis',
    async () =>
      new RedisTransport(`${SERVICES.redis.url}/11`, {
        logger: silentLogger,
        heartbeatMs: 0,
        connectionMaxRetries: 3,
        options: {},
      }),
  );
});
