import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { Redis } from 'ioredis';
import { afterAll, afterEach, expect, it } from 'vitest';
import type { RawMessage } from '../../src/protocol/types.ts';
import type { Delivery } from '../../src/transports/transport.ts';
import { RedisTransport } from '../../src/transports/redis/redis-transport.ts';
import { silentLogger } from '../../src/util/logger.ts';
import { describeWith, SERVICES, uniqueName } from '../helpers/services.ts';
import { sleep, waitFor } from '../transport-conformance.ts';

// Database 14 belongs to this file (short visibility timeouts restore anything in it): flushed at the end.
const URL = `redis://${SERVICES.redis.host}:${SERVICES.redis.port}/14`;
const PYTHON = '/usr/bin/python3';

function python(script: string): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(PYTHON, ['-c', script], { timeout: 20_000 }, (error, stdout, stderr) => {
      if (error) reject(new Error(`python failed: ${stderr || error.message}`));
      else resolve(stdout);
    });
  });
}

function message(body: unknown): RawMessage {
  return {
    body: Buffer.from(JSON.stringify(body)),
    properties: { contentType: 'application/json', contentEncoding: 'utf-8', headers: {} },
  };
}

function sourcePath(relative: string): string {
  return fileURLToPath(new globalThis.URL(relative, import.meta.url));
}

await describeWith(['redis'], 'redis transport: visibility timeout', () => {
  const raw = new Redis(URL);
  const opened: RedisTransport[] = [];
  const children: ChildProcess[] = [];

  function transport(options: Record<string, unknown>): RedisTransport {
    const t = new RedisTransport(URL, {
      logger: silentLogger,
      heartbeatMs: 0,
      connectionMaxRetries: 3,
      options,
    });
    opened.push(t);
    return t;
  }

  async function consumeAll(t: RedisTransport, queue: string, count: number): Promise<Delivery[]> {
    const got: Delivery[] = [];
    const consumer = await t.consume([queue], { prefetch: 100 }, (d) => {
      got.push(d);
      d.ack();
    });
    try {
      await waitFor(() => got.length >= count, 5000);
    } finally {
      await consumer.cancel();
    }
    return got;
  }

  afterEach(async () => {
    for (const child of children.splice(0)) child.kill('SIGKILL');
    for (const t of opened.splice(0)) await t.close();
  });

  afterAll(async () => {
    await raw.flushdb();
    raw.disconnect();
  });

  it('restores a delivery whose Python holder died, once the visibility timeout has passed', async () => {
    const q = uniqueName('pydied');
    const t = transport({ visibilityTimeout: 1, restoreIntervalMs: 200 });
    await t.publish(message('orphan'), { exchange: '', routingKey: q });
    // Python takes it without acking and dies without closing (no restore at shutdown).
    const tag = (
      await python(`
import os, sys
from kombu import Connection
c = Connection('${URL}')
m = c.SimpleQueue('${q}').get(timeout=5)
print(m.delivery_tag, flush=True)
os._exit(0)
`)
    ).trim();
    expect(await raw.hexists('unacked', tag)).toBe(1);
    expect(await raw.llen(q)).toBe(0);
    const started = Date.now();
    const [again] = await consumeAll(t, q, 1);
    expect(again!.redelivered).toBe(true);
    expect(again!.message.body.toString()).toBe('"orphan"');
    expect(Date.now() - started).toBeLessThan(4000);
    await waitFor(async () => (await raw.hexists('unacked', tag)) === 0, 2000);
  });

  it('a delivery held past the visibility timeout is not restored while its holder lives, and is once it is killed', async () => {
    const q = uniqueName('held');
    const options = { visibilityTimeout: 2, restoreIntervalMs: 250 };
    await transport(options).publish(message('long eta'), { exchange: '', routingKey: q });
    // The holder: another process that takes the message and never settles it.
    const holderSource = `
const { RedisTransport } = await import(${JSON.stringify(sourcePath('../../src/transports/redis/redis-transport.ts'))});
const { silentLogger } = await import(${JSON.stringify(sourcePath('../../src/util/logger.ts'))});
const t = new RedisTransport(${JSON.stringify(URL)}, { logger: silentLogger, heartbeatMs: 0, connectionMaxRetries: 3, options: ${JSON.stringify(options)} });
await t.connect();
await t.consume([${JSON.stringify(q)}], { prefetch: 1 }, (d) => console.log('holding ' + d.message.body.toString()));
`;
    const holder = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', holderSource], {
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    children.push(holder);
    let holderOut = '';
    holder.stdout!.on('data', (chunk) => (holderOut += chunk));
    await waitFor(() => holderOut.includes('holding'), 15_000);

    const observer = transport(options);
    const seen: Delivery[] = [];
    await observer.consume([q], { prefetch: 1 }, (d) => seen.push(d));
    await sleep(3000);
    // Python's restore_visible, with the same 2 s timeout, also leaves it alone.
    await python(`
from kombu import Connection
with Connection('${URL}', transport_options={'visibility_timeout': 2}) as c:
  c.default_channel.qos.restore_visible()
`);
    await sleep(3000);
    expect(seen).toHaveLength(0);
    expect(await raw.hlen('unacked')).toBe(1);

    holder.kill('SIGKILL');
    const killedAt = Date.now();
    await waitFor(() => seen.length === 1, 6000);
    expect(Date.now() - killedAt).toBeGreaterThanOrEqual(1500);
    expect(seen[0]!.redelivered).toBe(true);
    expect(seen[0]!.message.body.toString()).toBe('"long eta"');
    seen[0]!.ack();
  }, 30_000);
});
