import { Celeriac } from 'celeriac';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { describeWith, SERVICES, uniqueName } from '../../celeriac/test/helpers/services.ts';
import { Monitor } from '../src/monitor.ts';
import { startCliWorker, waitFor, type CliWorker } from './helpers.ts';

await describeWith(['rabbitmq'], 'monitor state from a real Celeriac worker on RabbitMQ', () => {
  const queue = uniqueName('h13-mon');
  const node = `${queue}@test`;
  let worker: CliWorker;
  let app: Celeriac;
  let monitor: Monitor;

  beforeAll(async () => {
    app = new Celeriac({ broker: SERVICES.rabbitmq.url, defaultQueue: queue });
    monitor = new Monitor(app, { history: false, inspectTimeoutMs: 1500 });
    await monitor.start();
    worker = await startCliWorker({ broker: SERVICES.rabbitmq.url, queue, node });
  });

  afterAll(async () => {
    await worker?.stop();
    await monitor?.stop();
    await (await app.connection()).deleteQueue(queue).catch(() => undefined);
    await app.close();
  });

  it('sees the worker come online from its heartbeats', async () => {
    await waitFor(() => monitor.state.isAlive(node), 10_000, `${node} online`);
    const record = monitor.state.getWorker(node);
    expect(record).toMatchObject({ freq: 2, sw_ident: 'celeriac' });
    expect(record?.pid).toBe(worker.process.pid);
  });

  it('follows a task to SUCCESS with its name, args, result and runtime', async () => {
    const result = await app.sendTask('tasks.add', [2, 3]);
    const task = await waitFor(
      () => {
        const t = monitor.state.task(result.id);
        return t?.state === 'SUCCESS' ? t : undefined;
      },
      10_000,
      'task success',
    );
    expect(task).toMatchObject({ name: 'tasks.add', worker: node, result: '5' });
    expect(task.args).toContain('2');
    expect(task.runtime).toBeGreaterThanOrEqual(0);
    expect(task.received).not.toBeNull();
    expect(task.started).not.toBeNull();
    expect(task.timeline.map((e) => e.type)).toEqual(['task-received', 'task-started', 'task-succeeded']);
  });

  it('records a failure with its exception', async () => {
    const result = await app.sendTask('tasks.fail');
    const task = await waitFor(
      () => {
        const t = monitor.state.task(result.id);
        return t?.state === 'FAILURE' ? t : undefined;
      },
      10_000,
      'task failure',
    );
    expect(task.exception).toContain('bad input');
  });

  it('asks the worker for its details over remote control (pool, queues, registered)', async () => {
    const replies = await monitor.inspect(node);
    const info = replies.get(node);
    expect(info).toBeDefined();
    expect((info?.stats as { pool: Record<string, unknown> }).pool['max-concurrency']).toBe(2);
    expect(info?.registered).toEqual(expect.arrayContaining(['tasks.add', 'tasks.fail']));
    expect((info?.active_queues as Array<{ name: string }>).map((q) => q.name)).toContain(queue);
  });

  it("counts the events in Flower's metrics", async () => {
    const text = await monitor.metrics.text();
    expect(text).toContain(`flower_events_total{worker="${node}",type="task-succeeded",task="tasks.add"} 1`);
    expect(text).toContain(`flower_worker_online{worker="${node}"} 1`);
    expect(text).toMatch(
      new RegExp(
        `flower_task_runtime_seconds_count\\{worker="${node.replace(/[.@-]/g, '\\$&')}",task="tasks.add"\\} 1`,
      ),
    );
  });

  it('sees the worker go offline on warm shutdown', async () => {
    await worker.stop();
    await waitFor(() => !monitor.state.isAlive(node), 10_000, `${node} offline`);
    expect(monitor.state.getWorker(node)?.offlineAt).not.toBeNull();
  });
});
