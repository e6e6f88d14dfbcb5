import net from 'node:net';
import { describe } from 'vitest';

/** Local services the integration tests use, with the URLs they are reached at. */
export const SERVICES = {
  rabbitmq: {
    host: '127.0.0.1',
    port: 5672,
    url: process.env.TEST_AMQP_URL ?? 'amqp://guest:guest@127.0.0.1:5672//',
  },
  redis: { host: '127.0.0.1', port: 6379, url: process.env.TEST_REDIS_URL ?? 'redis://127.0.0.1:6379' },
  postgres: {
    host: '127.0.0.1',
    port: 5432,
    url: process.env.TEST_PG_URL ?? 'postgresql://postgres@127.0.0.1:5432/test',
  },
  mysql: {
    host: '127.0.0.1',
    port: 3306,
    url: process.env.TEST_MYSQL_URL ?? 'mysql://root@127.0.0.1:3306/test',
  },
} as const;

export type ServiceName = keyof typeof SERVICES;

const reachable = new Map<ServiceName, Promise<boolean>>();

function probe(name: ServiceName): Promise<boolean> {
  let result = reachable.get(name);
  if (!result) {
    const { host, port } = SERVICES[name];
    result = new Promise<boolean>((resolve) => {
      const socket = net.connect({ host, port });
      const done = (ok: boolean) => {
        socket.destroy();
        resolve(ok);
      };
      socket.setTimeout(1000, () => done(false));
      socket.once('connect', () => done(true));
      socket.once('error', () => done(false));
    });
    reachable.set(name, result);
  }
  return result;
}

/**
 * `describe` that needs real services. In CI (`CI=true`) a missing service fails the suite loudly;
 * on a laptop the suite is skipped with a line saying which service and why.
 */
export async function describeWith(services: ServiceName[], title: string, body: () => void): Promise<void> {
  const missing: ServiceName[] = [];
  for (const name of services) if (!(await probe(name))) missing.push(name);
  if (missing.length === 0) {
    describe(title, body);
    return;
  }
  const why = missing.map((m) => `${m} (${SERVICES[m].host}:${SERVICES[m].port})`).join(', ');
  if (process.env.CI === 'true') {
    describe(title, () => {
      throw new Error(`required service not reachable: ${why}. CI must start it (see .ci/run).`);
    });
    return;
  }
  console.warn(`skipping "${title}": ${why} not reachable on this machine`);
  describe.skip(title, body);
}

/** A name unique to this test run, for queues, key prefixes and tables. */
export function uniqueName(prefix: string): string {
  return `${prefix}-${process.pid}-${Date.now().toString(36)}-${Math.random().toString(36).slice(2, 7)}`;
}
