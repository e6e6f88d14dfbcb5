import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import amqplib, { type Channel, type ChannelModel } from 'amqplib';
import { Celeriac } from 'celeriac';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { capturingLogger } from '../../celeriac/test/backends/capturing-logger.ts';
import { describeWith, SERVICES, uniqueName } from '../../celeriac/test/helpers/services.ts';
import { Monitor } from '../src/monitor.ts';
import { createMonitorApp } from '../src/server/app.ts';
import type { MonitorStatus } from '../src/server/status-api.ts';
import type { TaskRecord } from '../src/state/task-state.ts';
import { waitFor } from './helpers.ts';

/**
 * A foreign or broken worker publishes junk on the real `celeryev` exchange: bodies that are not
 * JSON, refused serializers, lists of junk, events without the fields Celery requires, wrong types,
 * megabyte-sized fields. The monitor stays up, counts each one, logs a line, keeps what it had,
 * keeps memory bounded, and the next good event is applied as usual.
 */
await describeWith(
  ['rabbitmq'],
  'malformed events from a foreign worker on the real celeryev exchange',
  () => {
    const host = `celery@${uniqueName('h4-foreign')}`;
    const dir = mkdtempSync(join(tmpdir(), 'celeriac-monitor-bad-'));
    const { logger, lines } = capturingLogger();
    let app: Celeriac;
    let monitor: Monitor;
    let web: ReturnType<typeof createMonitorApp>;
    let conn: ChannelModel;
    let channel: Channel;
    const now = () => Date.now() / 1000;

    const publish = (body: string | Buffer, routingKey: string, contentType = 'application/json') =>
      channel.publish('celeryev', routingKey, Buffer.isBuffer(body) ? body : Buffer.from(body), {
        contentType,
        contentEncoding: 'utf-8',
        headers: { hostname: host },
      });
    const event = (type: string, fields: Record<string, unknown>) =>
      JSON.stringify({ type, hostname: host, timestamp: now(), clock: 1, pid: 1, ...fields });
    const status = async () => (await (await web.request('/api/status')).json()) as MonitorStatus;
    /** A good event after the junk: once it is in, everything before it has been read. */
    const goodEventSeen = async (uuid: string) => {
      publish(
        event('task-received', { uuid, name: 'tasks.good', args: '(1,)', kwargs: '{}' }),
        'task.received',
      );
      return waitFor(() => monitor.state.task(uuid), 10_000, `good event ${uuid}`);
    };

    beforeAll(async () => {
      app = new Celeriac({ broker: SERVICES.rabbitmq.url, logger });
      monitor = new Monitor(app, {
        history: { url: `sqlite://${join(dir, 'history.db')}`, flushIntervalMs: 100 },
        enableEventsIntervalMs: 0,
      });
      await monitor.start();
      web = createMonitorApp(monitor, { auth: { insecureNoAuth: true } });
      conn = await amqplib.connect(SERVICES.rabbitmq.url);
      channel = await conn.createChannel();
    });

    afterAll(async () => {
      await conn?.close().catch(() => undefined);
      await monitor?.stop();
      await app?.close();
      rmSync(dir, { recursive: true, force: true });
    });

    it('counts undecodable bodies, refused serializers and junk items, logs them, and goes on', async () => {
      await goodEventSeen(uniqueName('before'));
      const before = (await status()).events.malformed;
      publish('{"type": "task-received", "uuid": ', 'task.received'); // cut short
      publish(Buffer.from([0x80, 0x04, 0x95, 0x00, 0xff]), 'task.received', 'application/x-python-serialize');
      publish('42', 'task.received');
      publish(
        JSON.stringify([
          'junk',
          { no: 'type' },
          JSON.parse(event('task-received', { uuid: 'in-a-multi', name: 'tasks.multi' })) as object,
        ]),
        'task.multi',
      );
      await goodEventSeen(uniqueName('after-junk'));
      expect(monitor.state.task('in-a-multi')).toMatchObject({ name: 'tasks.multi', state: 'RECEIVED' });
      const after = await status();
      expect(after.events.malformed - before).toBe(5);
      expect(after.broker.state).toBe('connected');
      const logged = lines().filter((l) => String(l.msg).includes('malformed'));
      expect(logged.length).toBeGreaterThan(0);
      expect(String(logged[0]!.msg)).toMatch(/body is not valid JSON|not accepted|JSON object|no type/);
    });

    it('counts events without hostname, timestamp or uuid, or with them mistyped, and keeps the task it had', async () => {
      const uuid = uniqueName('kept');
      await goodEventSeen(uuid);
      const before = (await status()).events.malformed;
      const bad = [
        JSON.stringify({ type: 'task-started', uuid, timestamp: now() }), // no hostname
        event('task-started', { uuid, timestamp: 'yesterday' }),
        event('task-started', { uuid: 42 }),
        event('task-started', {}),
        event('task-failed', { uuid: 'x'.repeat(10_000) }), // an id no store could key on
        event('task-succeeded', { uuid, hostname: ['a', 'b'] }),
      ];
      for (const body of bad) publish(body, 'task.started');
      await goodEventSeen(uniqueName('after-bad-fields'));
      expect((await status()).events.malformed - before).toBe(bad.length);
      expect(monitor.state.task(uuid)?.state).toBe('RECEIVED');
      // Wrongly typed optional fields are dropped, the event itself applies.
      publish(event('task-succeeded', { uuid, runtime: 'fast', retries: {} }), 'task.succeeded');
      const done = await waitFor(() =>
        monitor.state.task(uuid)?.state === 'SUCCESS' ? monitor.state.task(uuid) : undefined,
      );
      expect(done.runtime).toBeNull();
    });

    it('clips megabyte fields, so one sender cannot blow up memory, and serves the task', async () => {
      const uuid = uniqueName('huge');
      const huge = 'A'.repeat(4 * 1024 * 1024);
      publish(
        event('task-received', { uuid, name: 'tasks.huge', args: huge, kwargs: '{}', traceback: huge }),
        'task.received',
      );
      const task = await waitFor(() => monitor.state.task(uuid), 10_000, 'the huge task');
      expect(task.args!.length).toBeLessThan(100_000);
      expect(task.args).toMatch(/^A+… \[clipped \d+ characters\]$/);
      expect(task.traceback!.length).toBeLessThan(100_000);
      const info = await web.request(`/api/task/info/${uuid}`);
      expect(info.status).toBe(200);
      expect(((await info.json()) as TaskRecord).name).toBe('tasks.huge');
      await monitor.history!.flush();
      expect((await monitor.history!.get(uuid))?.args?.length).toBe(task.args!.length);
    });
  },
);
