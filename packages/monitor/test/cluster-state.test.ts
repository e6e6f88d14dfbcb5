import { describe, expect, it } from 'vitest';
import { ClusterState, MalformedEventError } from '../src/state/cluster-state.ts';
import { precedence } from '../src/state/task-state.ts';

const T0 = 1_790_000_000;
const ev = (type: string, fields: Record<string, unknown> = {}) => ({
  type,
  hostname: 'celery@w1',
  timestamp: T0,
  local_received: T0,
  clock: 1,
  pid: 10,
  utcoffset: 0,
  ...fields,
});

describe('ClusterState: tasks', () => {
  it('follows a task through received, started, succeeded with every field', () => {
    const state = new ClusterState();
    state.event(
      ev('task-received', {
        uuid: 'a',
        name: 'tasks.add',
        args: '(2, 2)',
        kwargs: '{}',
        retries: 0,
        timestamp: T0,
      }),
    );
    state.event(ev('task-started', { uuid: 'a', timestamp: T0 + 1 }));
    state.event(ev('task-succeeded', { uuid: 'a', result: '4', runtime: 0.5, timestamp: T0 + 2 }));
    const task = state.task('a');
    expect(task).toMatchObject({
      state: 'SUCCESS',
      name: 'tasks.add',
      args: '(2, 2)',
      result: '4',
      runtime: 0.5,
      worker: 'celery@w1',
      received: T0,
      started: T0 + 1,
      succeeded: T0 + 2,
      timestamp: T0 + 2,
    });
    expect(task?.timeline.map((e) => e.type)).toEqual(['task-received', 'task-started', 'task-succeeded']);
  });

  it("uses Celery's precedence: a late task-received fills the name but does not rewind SUCCESS", () => {
    const state = new ClusterState();
    state.event(ev('task-succeeded', { uuid: 'b', result: '1', timestamp: T0 + 2 }));
    state.event(ev('task-started', { uuid: 'b', timestamp: T0 + 1 }));
    state.event(
      ev('task-received', { uuid: 'b', name: 'tasks.x', args: '()', result: 'not merged', timestamp: T0 }),
    );
    expect(state.task('b')).toMatchObject({
      state: 'SUCCESS',
      name: 'tasks.x',
      args: '()',
      result: '1',
      started: T0 + 1,
    });
  });

  it('RETRY always applies (celery/events/state.py special-cases it), then STARTED again', () => {
    const state = new ClusterState();
    state.event(ev('task-started', { uuid: 'r' }));
    state.event(ev('task-retried', { uuid: 'r', exception: "ValueError('x')", traceback: 'tb' }));
    expect(state.task('r')?.state).toBe('RETRY');
    state.event(ev('task-started', { uuid: 'r' }));
    expect(state.task('r')?.state).toBe('STARTED');
    expect(precedence('SUCCESS')).toBeLessThan(precedence('STARTED'));
    expect(precedence('CUSTOM')).toBe(2);
  });

  it('keeps a custom state from task-<custom> events', () => {
    const state = new ClusterState();
    state.event(ev('task-progress', { uuid: 'c' }));
    expect(state.task('c')?.state).toBe('PROGRESS');
  });

  it('is bounded: the least recently updated task is evicted', () => {
    const state = new ClusterState({ maxTasks: 3 });
    for (const id of ['1', '2', '3']) state.event(ev('task-received', { uuid: id }));
    state.event(ev('task-started', { uuid: '1' })); // touch 1: now 2 is the oldest
    state.event(ev('task-received', { uuid: '4' }));
    expect(state.taskCount).toBe(3);
    expect(state.task('2')).toBeUndefined();
    expect(state.task('1')).toBeDefined();
    expect(state.counts.evictedTasks).toBe(1);
    expect([...state.tasksNewestFirst()].map((t) => t.uuid)).toEqual(['4', '1', '3']);
  });

  it('counts and ignores malformed events from a foreign worker, keeping what it had', () => {
    const state = new ClusterState();
    state.event(ev('task-received', { uuid: 'ok', name: 'n' }));
    const bad = [
      null,
      'a string',
      [1, 2],
      { hostname: 'x', timestamp: T0 },
      ev('task-started', { uuid: undefined }),
      ev('task-started', { uuid: 42 }),
      ev('task-succeeded', { uuid: 'ok', hostname: undefined }),
      ev('task-succeeded', { uuid: 'ok', timestamp: 'yesterday' }),
    ];
    for (const event of bad) expect(state.event(event)).toBeUndefined();
    expect(() => state.apply({ type: 'task-started' })).toThrow(MalformedEventError);
    expect(state.counts.malformed).toBe(bad.length + 1);
    expect(state.task('ok')?.state).toBe('RECEIVED');
    // Wrongly typed optional fields are dropped, not stored.
    state.event(ev('task-succeeded', { uuid: 'ok', runtime: 'fast', result: { x: 1 } }));
    expect(state.task('ok')).toMatchObject({ state: 'SUCCESS', runtime: null, result: '{"x":1}' });
  });
});

describe('ClusterState: workers', () => {
  it('is alive while now < last heartbeat + freq × 2, and offline after worker-offline', () => {
    const state = new ClusterState();
    state.event(
      ev('worker-online', {
        freq: 2,
        local_received: T0,
        active: 0,
        processed: 0,
        loadavg: [0.1, 0.2, 0.3],
        sw_ident: 'py-celery',
      }),
    );
    expect(state.isAlive('celery@w1', T0 + 3.9)).toBe(true);
    expect(state.isAlive('celery@w1', T0 + 4)).toBe(false);
    state.event(ev('worker-heartbeat', { freq: 5, local_received: T0 + 4, active: 2, processed: 7 }));
    expect(state.isAlive('celery@w1', T0 + 13.9)).toBe(true);
    expect(state.getWorker('celery@w1')).toMatchObject({
      active: 2,
      processed: 7,
      freq: 5,
      loadavg: [0.1, 0.2, 0.3],
      sw_ident: 'py-celery',
    });
    state.event(ev('worker-offline', { local_received: T0 + 5 }));
    expect(state.isAlive('celery@w1', T0 + 5)).toBe(false);
    expect(state.getWorker('celery@w1')?.offlineAt).toBe(T0 + 5);
  });

  it('notifies listeners with the change and the raw event', () => {
    const state = new ClusterState();
    const seen: string[] = [];
    const off = state.onChange((change, event) => seen.push(`${change.kind}:${String(event.type)}`));
    state.event(ev('worker-heartbeat', { freq: 2 }));
    state.event(ev('task-received', { uuid: 'z' }));
    off();
    state.event(ev('task-started', { uuid: 'z' }));
    expect(seen).toEqual(['worker:worker-heartbeat', 'task:task-received']);
    expect(state.eventsByType.get('task-started')).toBe(1);
  });
});
