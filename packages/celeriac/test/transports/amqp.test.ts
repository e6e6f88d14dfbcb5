import { AmqpTransport } from '../../src/transports/amqp/amqp-transport.ts';
import { silentLogger } from '../../src/util/logger.ts';
import { describeWith, SERVICES } from '../helpers/services.ts';
import { runTransportConformance } from '../transport-conformance.ts';

await describeWith(['rabbitmq'], 'AMQP transport', () => {
  runTransportConformance(
    'amqp',
    async () =>
      new AmqpTransport(SERVICES.rabbitmq.url, {
        logger: silentLogger,
        heartbeatMs: 10_000,
        connectionMaxRetries: 3,
        // Small delay buckets so redeliverAt is seen within the test (1.5 s = 1 s + 0.5 s, after bounces).
        options: { delayBucketsMs: [250, 1000], delayPrefix: 'celeriac-test.delay' },
      }),
  );
});
