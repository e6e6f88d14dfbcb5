import { afterAll, beforeAll, expect, it } from 'vitest';
import { Celeriac } from '../../src/app/celeriac.ts';
import { defaultQueueSpec } from '../../src/app/router.ts';
import { ControlClient } from '../../src/control/control-client.ts';
import { startMailbox, type Mailbox } from '../../src/control/mailbox.ts';
import { attachEvents, type WorkerEventPublisher } from '../../src/events/worker-events.ts';
import { Worker } from '../../src/worker/worker.ts';
import { describeWith, SERVICES, uniqueName } from '../helpers/services.ts';
import { captureLogger, waitFor } from '../worker/helpers.ts';
import { EventLog } from './helpers.ts';

await describeWith(['rabbitmq'], 'worker events over RabbitMQ', () => {
  const queue = uniqueName('h9-q');
  const node = `${uniqueName('h9')}@test`;
  const app = new Celeriac({ broker: SERVICES.rabbitmq.url, defaultQueue: queue });
  // The monitor's own app: worker.stop() closes the worker app's connection.
  const monitorApp = new Celeriac({ broker: SERVICES.rabbitmq.url });
  const { logger, lines } = captureLogger();
  app.task('h9.add', (x: number, y: number) => x + y);
  app.task('h9.fail', () => {
    throw new RangeError('bad input');
  });
  let attempts = 0;
  app.task(
    'h9.flaky',
    async (ctx) => {
      if (attempts++ === 0) throw await ctx.retry({ countdown: 0, exc: new Error('try again') });
      return 'ok';
    },
    { bind: true },
  );
  let worker: Worker;
  let mailbox: Mailbox;
  let events: WorkerEventPublisher;
  let log: EventLog;
  let control: ControlClient;

  beforeAll(async () => {
    log = new EventLog(monitorApp, node, { logger });
    await log.receiver.start();
    worker = new Worker(app, { queues: [queue], hostname: node, sendEvents: true, logger });
    await worker.start();
    mailbox = await startMailbox(worker, await app.connection(), logger);
    events = (await attachEvents(worker, { clock: mailbox.clock, logger })).registerControl(mailbox.panel);
    control = new ControlClient(app);
  });

  afterAll(async () => {
    await control?.close();
    await mailbox?.stop();
    await log?.receiver.stop();
    await worker?.stop({ graceful: false });
    await events?.stop();
    const transport = await app.connection();
    await transport.deleteQueue(queue).catch(() => undefined);
    await app.close();
    await monitorApp.close();
  });

  it('sends worker-online, then task-received/started/succeeded with Celery’s fields, batched as task.multi', async () => {
    const [online] = await log.wait('worker-online');
    expect(online).toMatchObject({ freq: 2, sw_ident: 'celeriac', sw_sys: expect.any(String), active: 0 });

    const results = await Promise.all(Array.from({ length: 30 }, (_, i) => app.sendTask('h9.add', [i, 1])));
    const id = results[0]!.id;
    const [received] = await log.wait('task-received', id);
    const [started] = await log.wait('task-started', id);
    const [succeeded] = await log.wait('task-succeeded', id);
    expect(received).toMatchObject({
      type: 'task-received',
      uuid: id,
      name: 'h9.add',
      args: '(0, 1)',
      kwargs: '{}',
      root_id: id,
      parent_id: null,
      retries: 0,
      eta: null,
      expires: null,
      hostname: node,
      pid: process.pid,
    });
    for (const e of [received!, started!, succeeded!]) {
      expect(typeof e.timestamp).toBe('number');
      expect(Math.abs(e.timestamp - Date.now() / 1000)).toBeLessThan(30);
      expect(Number.isInteger(e.clock)).toBe(true);
      expect(e.utcoffset).toBe(Math.floor(new Date().getTimezoneOffset() / 60));
      expect(typeof e.local_received).toBe('number');
    }
    expect(started!.clock).toBeGreaterThan(received!.clock);
    expect(succeeded).toMatchObject({ result: '1', runtime: expect.any(Number) });
    await log.wait('task-succeeded', undefined, 30);
    // 90 task events in messages of up to 24, all routed as task.multi with a list body.
    const taskMessages = log.messages.filter((m) => m.routingKey.startsWith('task.'));
    expect(taskMessages.every((m) => m.routingKey === 'task.multi')).toBe(true);
    expect(taskMessages.some((m) => m.events > 1)).toBe(true);
    expect(Math.max(...taskMessages.map((m) => m.events))).toBeLessThanOrEqual(24);
    // The events' clock is the mailbox's: one Lamport clock for the node.
    expect(mailbox.clock.value).toBeGreaterThanOrEqual(succeeded!.clock);
  });

  it('sends task-failed, task-retried and task-revoked', async () => {
    const failed = await app.sendTask('h9.fail');
    const [failure] = await log.wait('task-failed', failed.id);
    expect(failure).toMatchObject({ exception: expect.stringContaining('bad input') });
    expect(typeof (failure as { traceback?: unknown }).traceback).toBe('string');

    const flaky = await app.sendTask('h9.flaky');
    const [retried] = await log.wait('task-retried', flaky.id);
    expect(retried).toMatchObject({ exception: expect.stringContaining('try again') });
    await log.wait('task-succeeded', flaky.id);
    expect(log.of('task-received', flaky.id).length).toBe(2);

    const revokedId = uniqueName('revoked');
    worker.revoke([revokedId]);
    await app.sendTask('h9.add', [1, 1], {}, { taskId: revokedId });
    const [revoked] = await log.wait('task-revoked', revokedId);
    expect(revoked).toMatchObject({ terminated: false, expired: false });
  });

  it('sends worker-heartbeat every 2 s with the counters', async () => {
    const before = log.of('worker-heartbeat').filter((e) => e.freq === 2).length;
    // freq=5 ones answer `heartbeat` broadcasts (any monitor's on this broker): only the timer's count.
    const periodic = () => log.of('worker-heartbeat').filter((e) => e.freq === 2);
    await waitFor(() => periodic().length >= before + 2, 6_000, 'two periodic heartbeats');
    const beats = periodic();
    const last = beats.at(-1)!;
    const prev = beats.at(-2)!;
    const gap = last.timestamp - prev.timestamp;
    expect(gap).toBeGreaterThan(1.5);
    expect(gap).toBeLessThan(3);
    expect(last).toMatchObject({ sw_ident: 'celeriac', active: expect.any(Number) });
    expect(last.processed).toBeGreaterThanOrEqual(33);
    expect(last.loadavg).toHaveLength(3);
    for (const n of last.loadavg!) expect(Math.round(n * 100) / 100).toBe(n);
  });

  it('enable_events / disable_events / heartbeat at run time', async () => {
    const call = (method: string) =>
      control.inspect(method, {}, { destination: [node], timeoutMs: 3_000 }).then((r) => r[node]);
    expect(await call('enable_events')).toEqual({ ok: 'task events already enabled' });
    expect(await call('disable_events')).toEqual({ ok: 'task events disabled' });
    expect(await call('disable_events')).toEqual({ ok: 'task events already disabled' });
    const processed = worker.processedTotals()['h9.add'] ?? 0;
    const quiet = await app.sendTask('h9.add', [2, 2]);
    await waitFor(() => (worker.processedTotals()['h9.add'] ?? 0) > processed, 5_000, 'the quiet task');
    await new Promise((r) => setTimeout(r, 400)); // past the 100 ms flush
    expect(log.events.filter((e) => (e as { uuid?: string }).uuid === quiet.id)).toEqual([]);
    expect(events.taskEventsEnabled).toBe(false);

    expect(await call('enable_events')).toEqual({ ok: 'task events enabled' });
    const loud = await app.sendTask('h9.add', [3, 3]);
    await log.wait('task-succeeded', loud.id);

    const beatsBefore = log.of('worker-heartbeat').filter((e) => e.freq === 5).length;
    expect(await call('heartbeat')).toBeNull();
    await log.wait('worker-heartbeat', undefined, 1);
    await waitFor(
      () => log.of('worker-heartbeat').filter((e) => e.freq === 5).length > beatsBefore,
      3_000,
      'the requested heartbeat',
    );
  });

  it('a malformed event is logged and skipped; the receiver keeps going', async () => {
    const transport = await monitorApp.connection();
    const publish = (body: string, contentType = 'application/json') =>
      transport.publish(
        {
          body: Buffer.from(body),
          properties: { contentType, contentEncoding: 'utf-8', deliveryMode: 1, headers: { hostname: node } },
        },
        // Straight to our receiver's queue: other tests' Python receivers on the shared celeryev
        // exchange need not see our garbage.
        { exchange: '', routingKey: log.receiver.queueName },
      );
    const malformedBefore = log.receiver.counts.malformed;
    await publish('{not json');
    await publish('"a string"');
    await publish('[{"type": "task-bogus", "hostname": "x"}, 42, {"no": "type"}]');
    await publish('{"type": "x"}', 'application/x-python-serialize');
    await publish(
      JSON.stringify({ type: 'task-custom', hostname: node, uuid: 'u1', timestamp: 1, clock: 1 }),
    );
    const [custom] = await log.wait('task-custom');
    expect(custom).toMatchObject({ uuid: 'u1' });
    expect(log.receiver.counts.malformed - malformedBefore).toBe(5);
    // Logged, but at most once per 10 s (a broken sender must not flood the log).
    const logged = lines.filter((l) => /malformed event/.test(l.msg));
    expect(logged).toHaveLength(1);
    expect(logged[0]!.msg).toMatch(/routing key .*: cannot decode/);
  });

  it('sends worker-offline when stopped, after the last task events', async () => {
    const last = await app.sendTask('h9.add', [5, 5]);
    await log.wait('task-succeeded', last.id);
    await worker.stop();
    await events.stop();
    const [offline] = await log.wait('worker-offline');
    expect(offline).toMatchObject({ freq: 2, sw_ident: 'celeriac' });
    const beatsAtStop = log.of('worker-heartbeat').length;
    await new Promise((r) => setTimeout(r, 2_300));
    expect(log.of('worker-heartbeat').length).toBe(beatsAtStop);
    expect(defaultQueueSpec(queue).name).toBe(queue);
  });
});
