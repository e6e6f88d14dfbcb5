import { describe, expect, it } from 'vitest';
import { EventDumpState, formatEvent } from '../../src/events/dump.ts';
import { routingKeyFor, utcoffsetHours } from '../../src/events/event-types.ts';

describe('celery events --dump lines and event helpers', () => {
  it('formats like celery/events/dumper.py, remembering task names', () => {
    const state = new EventDumpState();
    const base = { hostname: 'celery@w1', timestamp: 1664625610.456, clock: 7, pid: 9, utcoffset: 0 };
    const received = formatEvent(
      {
        ...base,
        type: 'task-received',
        uuid: 'u1',
        name: 'tasks.add',
        args: '(2, 2)',
        kwargs: '{}',
        eta: null,
      },
      state,
    );
    expect(received).toBe(
      'celery@w1 [2022-10-01 12:00:10.456000] task received: tasks.add(u1) args=(2, 2) kwargs={} clock=7, eta=None, pid=9, utcoffset=0',
    );
    const revoked = formatEvent(
      { ...base, type: 'task-revoked', uuid: 'u1', terminated: true, signum: 'SIGTERM' },
      state,
    );
    expect(revoked).toContain(
      'task revoked: tasks.add(u1) args=(2, 2) kwargs={} clock=7, pid=9, signum=SIGTERM, terminated=True',
    );
    expect(formatEvent({ ...base, type: 'task-started', uuid: 'unknown' }, state)).toBe(
      'celery@w1 [2022-10-01 12:00:10.456000] task started:  clock=7, pid=9, utcoffset=0',
    );
    const offline = formatEvent(
      { ...base, timestamp: 1664625610, type: 'worker-offline', loadavg: [0.5, 1, 2], sw_ident: 'celeriac' },
      state,
    );
    expect(offline).toBe(
      'celery@w1 [2022-10-01 12:00:10] shutdown: clock=7, loadavg=[0.5, 1, 2], pid=9, sw_ident=celeriac, utcoffset=0',
    );
  });

  it('utcoffset is hours west of UTC with floor division, as Python’s time.timezone // 3600', () => {
    const at = (minutesWest: number) => ({ getTimezoneOffset: () => minutesWest }) as Date;
    expect(utcoffsetHours(at(0))).toBe(0);
    expect(utcoffsetHours(at(-120))).toBe(-2); // UTC+2
    expect(utcoffsetHours(at(-330))).toBe(-6); // UTC+5:30: -19800 // 3600 == -6 in Python
    expect(utcoffsetHours(at(300))).toBe(5); // UTC-5
    expect(routingKeyFor('task-succeeded')).toBe('task.succeeded');
  });
});
