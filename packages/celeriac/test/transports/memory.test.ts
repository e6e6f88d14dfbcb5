import { MemoryTransport } from '../../src/transports/memory/memory-transport.ts';
import { runTransportConformance } from '../transport-conformance.ts';

runTransportConformance('memory', async () => new MemoryTransport('memory://conformance'), {
  quietMs: 50,
  redeliverDelayMs: 300,
});
