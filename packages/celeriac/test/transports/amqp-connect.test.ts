import { describe, expect, it } from 'vitest';
import { AmqpTransport } from '../../src/transports/amqp/amqp-transport.ts';
import { parseAmqpUrl, resolveAmqpConfig } from '../../src/transports/amqp/amqp-transport-config.ts';
import { silentLogger } from '../../src/util/logger.ts';
import { captureLogger } from './amqp-rabbitmqctl.ts';

// Port 1 on loopback: nothing listens there, so every attempt is refused at once. No broker needed.
const UNREACHABLE = 'amqp://celeriac:s3cret-pw@127.0.0.1:1//';

describe('AMQP transport: unreachable broker', () => {
  it('connect() retries with back-off, then rejects naming the URL without its password', async () => {
    const { logger, lines } = captureLogger();
    const transport = new AmqpTransport(UNREACHABLE, {
      logger,
      heartbeatMs: 0,
      connectionMaxRetries: 3,
      options: { reconnectInitialDelayMs: 20 },
    });
    const statuses: string[] = [];
    transport.onStatus((s) =>
      statuses.push(s.state === 'reconnecting' ? `reconnecting:${s.attempt}` : s.state),
    );
    expect(transport.safeUrl).toBe('amqp://celeriac:**@127.0.0.1:1//');
    const error = await transport.connect().then(
      () => undefined,
      (e: unknown) => e as Error & { code: string },
    );
    expect(error?.code).toBe('AMQP_CONNECT_FAILED');
    expect(error?.message).toMatch(
      /^cannot connect to amqp:\/\/celeriac:\*\*@127\.0\.0\.1:1\/\/ after 4 attempts: .*ECONNREFUSED/,
    );
    expect(statuses).toEqual(['reconnecting:1', 'reconnecting:2', 'reconnecting:3', 'closed']);
    const text = JSON.stringify(lines);
    expect(text).not.toContain('s3cret');
    expect(lines.filter((l) => /retrying in \d+ ms/.test(l.msg))).toHaveLength(3);
    // Every later call fails with the same clear error instead of hanging.
    await expect(transport.publish(msg(), { exchange: '', routingKey: 'q' })).rejects.toMatchObject({
      code: 'AMQP_CONNECT_FAILED',
    });
    await transport.close();
  });

  it('a publish while the broker is unreachable waits a bounded time, then rejects; close() stops retrying', async () => {
    const transport = new AmqpTransport(UNREACHABLE, {
      logger: silentLogger,
      heartbeatMs: 0,
      connectionMaxRetries: null,
      options: { reconnectInitialDelayMs: 20, publishTimeoutMs: 300 },
    });
    const started = Date.now();
    await expect(transport.publish(msg(), { exchange: '', routingKey: 'q' })).rejects.toMatchObject({
      code: 'AMQP_PUBLISH_TIMEOUT',
      message: expect.stringMatching(
        /no connection to amqp:\/\/celeriac:\*\*@127\.0\.0\.1:1\/\/ within 300 ms .*ECONNREFUSED/,
      ),
    });
    expect(Date.now() - started).toBeGreaterThanOrEqual(290);
    await transport.close();
    await transport.close();
    await expect(transport.connect()).rejects.toMatchObject({ code: 'AMQP_CLOSED' });
  });
});

describe('AMQP URL and options', () => {
  it('parses vhosts as kombu does', () => {
    expect(parseAmqpUrl('amqp://guest:guest@localhost:5672//').vhost).toBe('/');
    expect(parseAmqpUrl('amqp://localhost').vhost).toBe('/');
    expect(parseAmqpUrl('amqp://localhost/%2F').vhost).toBe('/');
    expect(parseAmqpUrl('amqp://u:p%40ss@h/prod')).toMatchObject({
      vhost: 'prod',
      username: 'u',
      password: 'p@ss',
      port: 5672,
    });
    expect(parseAmqpUrl('amqps://h')).toMatchObject({ port: 5671, username: 'guest', password: 'guest' });
  });

  it('rejects bad URLs and options with a message that says the fix', () => {
    expect(() => parseAmqpUrl('redis://h')).toThrow(/amqp:\/\/ or amqps:\/\//);
    expect(() => parseAmqpUrl('amqp://u:secret@')).toThrow(/invalid AMQP URL/);
    const base = { logger: silentLogger, heartbeatMs: 60_000, connectionMaxRetries: 1 };
    expect(() => resolveAmqpConfig('amqp://h', { ...base, options: { delayBucketsMs: [] } })).toThrow(
      /non-empty array/,
    );
    expect(() => resolveAmqpConfig('amqp://h', { ...base, options: { delayBucketsMs: ['soon'] } })).toThrow(
      /duration/,
    );
    const config = resolveAmqpConfig('amqp://h', {
      ...base,
      options: { delayBucketsMs: ['1m', 1000, '1s'] },
    });
    expect(config.delayBucketsMs).toEqual([1000, 60_000]);
    expect(config.target.heartbeat).toBe(60);
    expect(Object.isFrozen(config)).toBe(true);
  });
});

function msg() {
  return {
    body: Buffer.from('x'),
    properties: { contentType: 'text/plain', contentEncoding: 'utf-8', headers: {} },
  };
}
