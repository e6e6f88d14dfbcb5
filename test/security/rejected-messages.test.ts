/**
 * Nothing in a message is ever run as code, and nothing too big is taken in: a pickle (which would
 * run `os.system` in a Python worker that accepted it), a YAML body and a body over
 * `taskMessageMaxBytes` are each refused by the worker and dead-lettered (set aside in `<queue>.dead`
 * with the reason in a header), with a log line that says why, while the valid task published after
 * them runs.
 */
import { existsSync } from 'node:fs';
import amqplib from 'amqplib';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { Celeriac } from '../../packages/celeriac/src/app/celeriac.ts';
import { Worker } from '../../packages/celeriac/src/worker/worker.ts';
import { capturingLogger } from '../../packages/celeriac/test/backends/capturing-logger.ts';
import { describeWith, SERVICES, uniqueName } from '../../packages/celeriac/test/helpers/services.ts';
import { waitFor } from '../../packages/celeriac/test/worker/helpers.ts';

const MARKER = `/tmp/${uniqueName('celeriac-pickle-ran')}`;
/** Protocol-0 pickle of `os.system('touch MARKER')`: unpickling it runs the command. */
const PICKLE = Buffer.from(`cos\nsystem\n(S'touch ${MARKER}'\ntR.`, 'latin1');
const LIMIT = 64 * 1024;

await describeWith(['rabbitmq'], 'messages that could carry code or too much data', () => {
  const queue = uniqueName('security-rejects');
  const dlq = `${queue}.dead`;
  const { logger, lines } = capturingLogger();
  let connection: amqplib.ChannelModel;
  let channel: amqplib.Channel;
  let app: Celeriac;
  let worker: Worker;
  const ran: unknown[] = [];

  beforeAll(async () => {
    connection = await amqplib.connect(SERVICES.rabbitmq.url);
    channel = await connection.createChannel();
    app = new Celeriac({
      broker: SERVICES.rabbitmq.url,
      backend: `memory://${queue}`,
      defaultQueue: queue,
      taskMessageMaxBytes: LIMIT,
      logger,
    });
    app.task('security.echo', (value: unknown) => (ran.push(value), value));
    worker = new Worker(app, { queues: [queue], concurrency: 2, logger });
    await worker.start();
  });

  afterAll(async () => {
    await worker?.stop().catch(() => undefined);
    await app?.close().catch(() => undefined);
    await channel?.deleteQueue(queue).catch(() => undefined);
    await channel?.deleteExchange(queue).catch(() => undefined);
    await channel?.deleteQueue(dlq).catch(() => undefined);
    await connection?.close().catch(() => undefined);
  });

  const headers = (id: string) => ({
    lang: 'py',
    task: 'security.echo',
    id,
    root_id: id,
    argsrepr: '',
    kwargsrepr: '',
  });

  it('refuses pickle, YAML and an oversized body, dead-letters each with the reason logged, keeps running', async () => {
    const yaml = Buffer.from('- !!python/object/apply:os.system ["true"]\n- {}\n- {}\n');
    // Valid JSON, but over the limit: sent raw, because our own client refuses to publish it.
    const big = Buffer.from(JSON.stringify([['x'.repeat(LIMIT)], {}, {}]));
    const sent = new Map([
      ['pickle-1', PICKLE],
      ['yaml-1', yaml],
      ['big-1', big],
    ]);
    channel.sendToQueue(queue, PICKLE, {
      contentType: 'application/x-python-serialize',
      contentEncoding: 'binary',
      correlationId: 'pickle-1',
      headers: headers('pickle-1'),
    });
    channel.sendToQueue(queue, yaml, {
      contentType: 'application/x-yaml',
      contentEncoding: 'utf-8',
      correlationId: 'yaml-1',
      headers: headers('yaml-1'),
    });
    channel.sendToQueue(queue, big, {
      contentType: 'application/json',
      contentEncoding: 'utf-8',
      correlationId: 'big-1',
      headers: headers('big-1'),
    });
    const ok = await app.sendTask('security.echo', ['fine']);
    expect(await ok.get({ timeout: 10_000 })).toBe('fine');

    await waitFor(
      async () => (await channel.checkQueue(dlq)).messageCount === 3,
      10_000,
      'three dead letters',
    );
    const dead: Array<Record<string, unknown>> = [];
    for (let i = 0; i < 3; i++) {
      const msg = await channel.get(dlq, { noAck: true });
      if (!msg) throw new Error('dead-letter queue emptied under us');
      dead.push({
        id: msg.properties.correlationId,
        contentType: msg.properties.contentType,
        reason: msg.properties.headers?.['x-celeriac-dead-reason'],
        queue: msg.properties.headers?.['x-celeriac-dead-queue'],
        bodyIntact: msg.content.equals(sent.get(String(msg.properties.correlationId)) ?? Buffer.alloc(0)),
      });
    }
    // Each is set aside whole, with why.
    expect(dead.sort((a, b) => String(a.id).localeCompare(String(b.id)))).toEqual([
      {
        id: 'big-1',
        contentType: 'application/json',
        reason: expect.stringMatching(/over taskMessageMaxBytes \(64 KiB\)/),
        queue,
        bodyIntact: true,
      },
      {
        id: 'pickle-1',
        contentType: 'application/x-python-serialize',
        reason: expect.stringMatching(/pickle and others are refused/),
        queue,
        bodyIntact: true,
      },
      {
        id: 'yaml-1',
        contentType: 'application/x-yaml',
        reason: expect.stringMatching(/"application\/x-yaml" is not accepted/),
        queue,
        bodyIntact: true,
      },
    ]);
    // The task function saw only the valid call; the pickle's command never ran.
    expect(ran).toEqual(['fine']);
    expect(existsSync(MARKER)).toBe(false);
    const rejected = lines()
      .filter((l) => l.level === 50)
      .map((l) => String(l.msg));
    expect(rejected).toEqual(
      expect.arrayContaining([
        expect.stringMatching(
          /rejected invalid message pickle-1 .*application\/x-python-serialize.*pickle and others are refused/,
        ),
        expect.stringMatching(/rejected invalid message yaml-1 .*application\/x-yaml.*is not accepted/),
        expect.stringMatching(
          /rejected invalid message big-1 .*is 64\.\d KiB, over taskMessageMaxBytes \(64 KiB\)/,
        ),
      ]),
    );
  });
});
