import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { Celeriac } from '../../src/app/celeriac.ts';
import { ControlClient } from '../../src/control/control-client.ts';
import { Mailbox, startMailbox } from '../../src/control/mailbox.ts';
import { REPLY_EXCHANGE, replyQueue } from '../../src/control/pidbox.ts';
import { PIDBOX_EXCHANGE } from '../../src/app/control.ts';
import type { Delivery, Transport } from '../../src/transports/transport.ts';
import { silentLogger } from '../../src/util/logger.ts';
import { uniqueName } from '../helpers/services.ts';
import { FakeWorker, requestInfo } from './fake-worker.ts';

describe('remote control over the memory transport', () => {
  let app: Celeriac;
  let transport: Transport;
  let w1: FakeWorker;
  let w2: FakeWorker;
  let mailboxes: Mailbox[];
  let client: ControlClient;

  beforeEach(async () => {
    app = new Celeriac({ broker: `memory://${uniqueName('pidbox')}` });
    app.task('tasks.add', (x: number, y: number) => x + y, { rateLimit: '10/s' });
    app.task('tasks.mul', (x: number, y: number) => x * y);
    app.task('celery.chord_unlock', () => null);
    transport = await app.connection();
    w1 = new FakeWorker('w1@test', app);
    w2 = new FakeWorker('w2@other', app);
    mailboxes = [
      await startMailbox(w1, transport, silentLogger),
      await startMailbox(w2, transport, silentLogger),
    ];
    client = new ControlClient(app);
  });

  afterEach(async () => {
    await client.close();
    for (const m of mailboxes) await m.stop();
    await app.close();
  });

  it('pings every node and returns {node: {ok: "pong"}}', async () => {
    expect(await client.ping({ timeoutMs: 200 })).toEqual({
      'w1@test': { ok: 'pong' },
      'w2@other': { ok: 'pong' },
    });
  });

  it('addresses nodes by destination and stops waiting once each answered', async () => {
    const started = Date.now();
    const replies = await client.call('ping', {}, { destination: ['w2@other'], timeoutMs: 5000 });
    expect(replies).toEqual([{ 'w2@other': { ok: 'pong' } }]);
    expect(Date.now() - started).toBeLessThan(2000);
  });

  it('addresses nodes by glob and pcre patterns', async () => {
    expect(Object.keys(await client.inspect('ping', {}, { pattern: 'w2@*', timeoutMs: 200 }))).toEqual([
      'w2@other',
    ]);
    expect(
      Object.keys(await client.inspect('ping', {}, { pattern: 'w[12]@t', matcher: 'pcre', timeoutMs: 200 })),
    ).toEqual(['w1@test']);
    const bad = await client.inspect('ping', {}, { pattern: 'x', matcher: 'nope' as 'glob', timeoutMs: 200 });
    expect(bad['w1@test']).toEqual({ error: expect.stringContaining('no matcher installed') });
  });

  it('answers stats with the keys Flower reads', async () => {
    const stats = (await client.inspect('stats', {}, { destination: ['w1@test'] }))['w1@test'] as Record<
      string,
      unknown
    >;
    expect(stats.total).toEqual({ 'tasks.add': 3 });
    expect(typeof stats.clock).toBe('string');
    expect(stats.pid).toBe(process.pid);
    expect(stats.uptime).toBeGreaterThanOrEqual(4);
    expect(stats.prefetch_count).toBe(16);
    expect(stats.pool).toMatchObject({ 'max-concurrency': 4, processes: [process.pid] });
    expect(stats.broker).toMatchObject({ transport: 'memory', alternates: [] });
    expect(stats.rusage).toMatchObject({ utime: expect.any(Number), maxrss: expect.any(Number) });
  });

  it('lists registered tasks sorted, hides celery.*, adds taskinfoitems', async () => {
    const target = { destination: ['w1@test'] };
    expect((await client.inspect('registered', {}, target))['w1@test']).toEqual(['tasks.add', 'tasks.mul']);
    expect(
      (await client.inspect('registered', { taskinfoitems: ['rate_limit'] }, target))['w1@test'],
    ).toEqual(['tasks.add [rate_limit=10/s]', 'tasks.mul']);
  });

  it('reports active, reserved, scheduled, revoked and query_task from the worker', async () => {
    w1.activeTasks = [requestInfo('a1')];
    w1.reservedTasks = [requestInfo('r1')];
    w1.scheduledTasks = [{ eta: '2030-01-01T00:00:00+00:00', priority: 6, request: requestInfo('s1') }];
    w1.revokedIds.add('x1');
    const target = { destination: ['w1@test'] };
    expect((await client.inspect('active', {}, target))['w1@test']).toEqual(
      [requestInfo('a1')].map((r) => ({ ...r, time_start: expect.any(Number) })),
    );
    const safe = (await client.inspect('active', { safe: true }, target))['w1@test'] as Array<{
      args: unknown;
    }>;
    expect(safe[0]!.args).toBe('[2,2]');
    expect((await client.inspect('reserved', {}, target))['w1@test']).toMatchObject([{ id: 'r1' }]);
    expect((await client.inspect('scheduled', {}, target))['w1@test']).toMatchObject([
      { priority: 6, request: { id: 's1' } },
    ]);
    expect((await client.inspect('revoked', {}, target))['w1@test']).toEqual(['x1']);
    const query = (await client.inspect('query_task', { ids: ['a1', 's1', 'nope'] }, target))['w1@test'];
    expect(query).toMatchObject({ a1: ['active', { id: 'a1' }], s1: ['reserved', { id: 's1' }] });
    expect(Object.keys(query as object)).toHaveLength(2);
  });

  it('describes active queues as kombu Queue.as_dict', async () => {
    const [queue] = (await client.inspect('active_queues', {}, { destination: ['w1@test'] }))[
      'w1@test'
    ] as Array<Record<string, unknown>>;
    expect(queue).toMatchObject({
      name: 'celery',
      routing_key: 'celery',
      durable: true,
      auto_delete: false,
      exchange: { name: 'celery', type: 'direct', durable: true, auto_delete: false, passive: false },
      max_priority: null,
      bindings: [],
    });
  });

  it('conf hides passwords; clock and report answer', async () => {
    const secret = new Celeriac({
      broker: 'amqp://user:s3cret@host:5672//',
      backend: 'redis://:pw@host:6379/1',
    });
    const w = new FakeWorker('w3@test', secret);
    mailboxes.push(await startMailbox(w, transport, silentLogger));
    const conf = JSON.stringify(await client.inspect('conf', {}, { destination: ['w3@test'] }));
    expect(conf).not.toContain('s3cret');
    expect(conf).toContain('amqp://user:**@host:5672//');
    const clock = (await client.inspect('clock', {}, { destination: ['w1@test'] }))['w1@test'] as {
      clock: number;
    };
    expect(clock.clock).toBeGreaterThan(0);
    const report = (await client.inspect('report', {}, { destination: ['w1@test'] }))['w1@test'] as {
      ok: string;
    };
    expect(report.ok).toContain('software -> celeriac:');
  });

  it('revoke flags ids; terminate reports the running ones', async () => {
    const target = { destination: ['w1@test'] };
    expect((await client.inspect('revoke', { task_id: ['t1', 't2'] }, target))['w1@test']).toEqual({
      ok: 'tasks t1, t2 flagged as revoked',
    });
    w1.activeTasks = [requestInfo('t3')];
    expect((await client.inspect('terminate', { task_id: 't3', signal: 'KILL' }, target))['w1@test']).toEqual(
      { ok: 'terminate: t3' },
    );
    expect((await client.inspect('revoke', { task_id: 'zz', terminate: true }, target))['w1@test']).toEqual({
      ok: 'terminate: tasks unknown',
    });
    expect(w1.revokeCalls).toEqual([
      { ids: ['t1', 't2'], terminate: false, signal: 'SIGTERM' },
      { ids: ['t3'], terminate: true, signal: 'KILL' },
      { ids: ['zz'], terminate: true, signal: 'SIGTERM' },
    ]);
    expect(w2.revokeCalls).toEqual([]);
    expect((await client.inspect('revoke', {}, target))['w1@test']).toEqual({
      error: expect.stringContaining('task_id'),
    });
  });

  it('a cast reaches every node without replies', async () => {
    await client.cast('revoke', { task_id: 'c1' });
    await new Promise((r) => setTimeout(r, 20));
    expect([...w1.revokedIds, ...w2.revokedIds]).toEqual(['c1', 'c1']);
  });

  it('shutdown calls the worker and sends no reply', async () => {
    const replies = await client.call('shutdown', {}, { destination: ['w2@other'], timeoutMs: 200 });
    expect(replies).toEqual([]);
    expect(w2.shutdownCalls).toBe(1);
    expect(w1.shutdownCalls).toBe(0);
  });

  it('replies with an error for unknown, unavailable and failing commands; the panel is open', async () => {
    const target = { destination: ['w1@test'], timeoutMs: 500 };
    expect((await client.inspect('bogus', {}, target))['w1@test']).toEqual({
      error: 'unknown command bogus',
    });
    expect((await client.inspect('pool_restart', {}, target))['w1@test']).toEqual({
      error: expect.stringContaining('not available'),
    });
    mailboxes[0]!.panel.register('rate_limit', (_ctx, args) => ({
      ok: `new rate limit ${String(args.rate_limit)}`,
    }));
    mailboxes[0]!.panel.register('explode', () => {
      throw new RangeError('boom');
    });
    expect((await client.inspect('rate_limit', { rate_limit: '5/s' }, target))['w1@test']).toEqual({
      ok: 'new rate limit 5/s',
    });
    expect((await client.inspect('explode', {}, target))['w1@test']).toEqual({ error: 'RangeError: boom' });
    expect((await client.inspect('ping', {}, target))['w1@test']).toEqual({ ok: 'pong' });
  });

  it('survives malformed requests and answers those that have a reply_to', async () => {
    const oid = uniqueName('oid');
    const queue = replyQueue(oid);
    await transport.declareQueue(queue);
    const got: Delivery[] = [];
    const consumer = await transport.consume([queue.name], { prefetch: 0, noAck: true }, (d) => got.push(d));
    const send = (body: string | Buffer, contentType = 'application/json') =>
      transport.publish(
        {
          body: Buffer.from(body),
          properties: { contentType, contentEncoding: 'utf-8', headers: { clock: 1 } },
        },
        { exchange: PIDBOX_EXCHANGE.name, routingKey: '' },
      );
    const replyTo = { exchange: REPLY_EXCHANGE.name, routing_key: oid };
    await send('{not json');
    await send('[1,2,3]');
    await send('x', 'application/x-python-serialize');
    await send(JSON.stringify({ arguments: {}, destination: ['w1@test'], ticket: 'T1', reply_to: replyTo }));
    await send(
      JSON.stringify({
        method: 'ping',
        arguments: 'nope',
        destination: ['w1@test'],
        ticket: 'T2',
        reply_to: replyTo,
      }),
    );
    await new Promise((r) => setTimeout(r, 50));
    const replies = got.map((d) => ({
      ticket: d.message.properties.headers.ticket,
      body: JSON.parse(d.message.body.toString()),
    }));
    expect(replies).toEqual([
      { ticket: 'T1', body: { 'w1@test': { error: 'request has no method' } } },
      { ticket: 'T2', body: { 'w1@test': { error: 'arguments of ping must be an object' } } },
    ]);
    await consumer.cancel();
    expect(await client.ping({ timeoutMs: 200 })).toEqual({
      'w1@test': { ok: 'pong' },
      'w2@other': { ok: 'pong' },
    });
  });

  it('keeps concurrent calls apart by ticket', async () => {
    const [pings, stats, revoked] = await Promise.all([
      client.inspect('ping', {}, { timeoutMs: 200 }),
      client.inspect('clock', {}, { timeoutMs: 200 }),
      client.inspect('revoked', {}, { timeoutMs: 200 }),
    ]);
    expect(pings).toEqual({ 'w1@test': { ok: 'pong' }, 'w2@other': { ok: 'pong' } });
    expect(Object.values(stats).every((s) => typeof (s as { clock: number }).clock === 'number')).toBe(true);
    expect(revoked).toEqual({ 'w1@test': [], 'w2@other': [] });
  });

  it('hello merges the other node revoked ids and ignores itself', async () => {
    const target = { destination: ['w1@test'] };
    const reply = (await client.inspect('hello', { from_node: 'w9@x', revoked: { r9: 1 } }, target))[
      'w1@test'
    ];
    expect(reply).toMatchObject({ revoked: { r9: expect.any(Number) }, clock: expect.any(Number) });
    expect((await client.inspect('hello', { from_node: 'w1@test' }, target))['w1@test']).toBeNull();
  });
});
