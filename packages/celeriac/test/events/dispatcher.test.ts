import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { Celeriac } from '../../src/app/celeriac.ts';
import { LamportClock } from '../../src/control/lamport-clock.ts';
import { EventDispatcher } from '../../src/events/dispatcher.ts';
import { EventReceiver } from '../../src/events/receiver.ts';
import type { ReceivedEvent } from '../../src/events/event-types.ts';
import { decodeJson } from '../../src/protocol/json.ts';
import type { RawMessage } from '../../src/protocol/types.ts';
import type { Route, Transport } from '../../src/transports/transport.ts';
import { uniqueName } from '../helpers/services.ts';
import { captureLogger, waitFor } from '../worker/helpers.ts';

/** The memory transport, with a switch that makes publishing fail or hang (a broker outage). */
function flakyTransport(inner: Transport) {
  const state = {
    mode: 'ok' as 'ok' | 'fail' | 'hang',
    published: [] as Array<{ route: Route; message: RawMessage }>,
  };
  const transport: Transport = Object.create(inner) as Transport;
  transport.publish = (message, route) => {
    if (state.mode === 'fail') return Promise.reject(new Error('connection closed'));
    if (state.mode === 'hang') return new Promise<void>(() => undefined);
    state.published.push({ route, message });
    return inner.publish(message, route);
  };
  return { transport, state };
}

describe('EventDispatcher (memory transport)', () => {
  let app: Celeriac;
  let receiver: EventReceiver;
  let received: ReceivedEvent[];

  beforeEach(async () => {
    app = new Celeriac({ broker: `memory://${uniqueName('h9-disp')}` });
    receiver = new EventReceiver(app, { wakeupWorkers: false });
    received = [];
    receiver.on('*', (e) => received.push(e));
    await receiver.start();
  });

  afterEach(async () => {
    await receiver.stop();
    await app.close();
  });

  it('buffers task events into task.multi messages of at most 24; worker events go alone', async () => {
    const { transport, state } = flakyTransport(await app.connection());
    const clock = new LamportClock(100);
    const d = new EventDispatcher(transport, { hostname: 'w1@test', logger: captureLogger().logger, clock });
    await d.start();
    for (let i = 0; i < 50; i++) d.send('task-started', { uuid: `t${i}` });
    d.send('worker-heartbeat', { freq: 2, sw_ident: 'celeriac', sw_ver: '0', sw_sys: 'Linux' });
    // 48 flushed at the limit, the heartbeat at once; the last 2 wait for the 100 ms timer.
    await new Promise((r) => setImmediate(r));
    expect(state.published.map((p) => p.route.routingKey)).toEqual([
      'task.multi',
      'task.multi',
      'worker.heartbeat',
    ]);
    const first = state.published[0]!;
    expect(first.route.exchange).toBe('celeryev');
    expect(first.message.properties).toMatchObject({
      contentType: 'application/json',
      contentEncoding: 'utf-8',
      deliveryMode: 1,
      headers: { hostname: 'w1@test' },
    });
    const body = decodeJson(first.message.body.toString()) as Array<Record<string, unknown>>;
    expect(body).toHaveLength(24);
    expect(body[0]).toMatchObject({
      type: 'task-started',
      uuid: 't0',
      hostname: 'w1@test',
      pid: process.pid,
      clock: 101,
    });
    expect(typeof body[0]!.timestamp).toBe('number');
    expect(Number.isInteger(body[0]!.utcoffset)).toBe(true);
    await waitFor(() => received.length === 51, 2_000, 'all events');
    expect(state.published.at(-1)!.route.routingKey).toBe('task.multi');
    expect(received.filter((e) => e.type === 'task-started').map((e) => e.clock)).toEqual(
      Array.from({ length: 50 }, (_, i) => 101 + i),
    );
    expect(d.counts).toMatchObject({ sent: 51, dropped: 0 });
    await d.close();
  });

  it('a failing broker drops events, logs once per outage, and never throws', async () => {
    const { transport, state } = flakyTransport(await app.connection());
    const { logger, lines } = captureLogger();
    const d = new EventDispatcher(transport, { hostname: 'w2@test', logger });
    await d.start();
    state.mode = 'fail';
    for (let i = 0; i < 100; i++)
      expect(() => d.send('task-succeeded', { uuid: `f${i}`, result: '1', runtime: 0 })).not.toThrow();
    d.send('worker-heartbeat', { freq: 2, sw_ident: 'celeriac', sw_ver: '0', sw_sys: 'Linux' });
    d.flush();
    await waitFor(() => d.counts.dropped === 101, 2_000, 'drops');
    expect(lines.filter((l) => /cannot publish/.test(l.msg))).toHaveLength(1);
    state.mode = 'ok';
    d.send('task-succeeded', { uuid: 'back', result: '1', runtime: 0 });
    await d.close();
    expect(lines.filter((l) => /publishing again \(101 event/.test(l.msg))).toHaveLength(1);
    await waitFor(
      () => received.some((e) => (e as { uuid?: string }).uuid === 'back'),
      2_000,
      'the event after the outage',
    );
  });

  it('a broker that never confirms bounds the publishes in flight; close() does not wait forever', async () => {
    const { transport, state } = flakyTransport(await app.connection());
    const { logger } = captureLogger();
    const d = new EventDispatcher(transport, { hostname: 'w3@test', logger, maxInFlight: 4 });
    await d.start();
    state.mode = 'hang';
    for (let i = 0; i < 10; i++)
      d.send('worker-heartbeat', { freq: 2, sw_ident: 'celeriac', sw_ver: '0', sw_sys: 'Linux' });
    expect(d.counts.dropped).toBe(6);
    const started = Date.now();
    await d.close(200);
    expect(Date.now() - started).toBeLessThan(1_000);
    d.send('worker-offline', { freq: 2, sw_ident: 'celeriac', sw_ver: '0', sw_sys: 'Linux' });
    expect(d.counts.dropped).toBe(6);
  });

  it('rejects an impossible buffer limit at construction', async () => {
    const transport = await app.connection();
    expect(
      () => new EventDispatcher(transport, { hostname: 'x', logger: captureLogger().logger, bufferLimit: 0 }),
    ).toThrow(/bufferLimit/);
  });
});
