import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BeatEntryError } from '../../src/beat/errors.ts';
import { resolveEntry } from '../../src/beat/entry.ts';
import type { ScheduleStore, StoredEntry } from '../../src/beat/stores/store.ts';
import { Beat } from '../../src/beat/beat.ts';
import { Celeriac } from '../../src/app/celeriac.ts';
import { fakeBeat } from './fake-beat.ts';

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'celeriac-beat-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('Beat on a fake clock', () => {
  it('sends tasks.add(14, 15) every 5 s, with the entry options, once per slot', async () => {
    const b = fakeBeat({
      'add-every-5s': {
        task: 'tasks.add',
        schedule: { every: '5s' },
        args: [14, 15],
        kwargs: { z: 1 },
        queue: 'periodic',
        priority: 5,
        headers: { source: 'beat' },
        expires: 30,
      },
    });
    expect(await b.at('2024-05-01T10:00:00Z')).toBe(5000);
    expect(b.sent).toHaveLength(0);
    await b.at('2024-05-01T10:00:04.999Z');
    expect(b.sent).toHaveLength(0);
    await b.at('2024-05-01T10:00:05Z');
    await b.at('2024-05-01T10:00:05Z');
    await b.at('2024-05-01T10:00:07Z');
    expect(b.sent).toEqual([
      {
        task: 'tasks.add',
        args: [14, 15],
        kwargs: { z: 1 },
        options: { queue: 'periodic', priority: 5, headers: { source: 'beat' }, expires: 30 },
        at: '2024-05-01T10:00:05.000Z',
      },
    ]);
    // Late ticks do not make the interval drift: the next slot is 10:00:10, not 10:00:12.
    expect(await b.at('2024-05-01T10:00:09Z')).toBe(1000);
    await b.at('2024-05-01T10:00:10.200Z');
    expect(b.sent.map((s) => s.at)).toEqual(['2024-05-01T10:00:05.000Z', '2024-05-01T10:00:10.200Z']);
    await b.close();
  });

  it('missed runs fire once on the next check by default (Celery)', async () => {
    const b = fakeBeat({ every5: { task: 't', schedule: '5s' } });
    await b.at('2024-05-01T10:00:00Z');
    await b.at('2024-05-01T10:01:00Z');
    await b.at('2024-05-01T10:01:00Z');
    expect(b.sent).toHaveLength(1);
    expect((await b.beat.listEntries(1))[0]!.nextRuns[0]!.toISOString()).toBe('2024-05-01T10:01:05.000Z');
    await b.close();
  });

  it('catch-up replays every missed slot', async () => {
    const b = fakeBeat({ every5: { task: 't', schedule: '5s' } }, { missedRuns: 'catch-up' });
    await b.at('2024-05-01T10:00:00Z');
    await b.at('2024-05-01T10:00:21Z');
    expect(b.sent).toHaveLength(4); // slots :05 :10 :15 :20
    await b.at('2024-05-01T10:00:24Z');
    expect(b.sent).toHaveLength(4);
    await b.close();
  });

  it('crontab entries in the app time zone', async () => {
    const app = new Celeriac({ broker: 'memory://beat-cron', timezone: 'Europe/Berlin' });
    const b = fakeBeat(
      {
        quarter: { task: 't', schedule: { crontab: '*/15 * * * *' } },
        nine: { task: 'u', schedule: { crontab: '0 9 * * *' } },
      },
      { app },
    );
    await b.at('2024-05-01T06:07:00Z');
    await b.at('2024-05-01T06:15:00Z');
    await b.at('2024-05-01T07:00:00Z'); // 09:00 CEST
    expect(b.sent.map((s) => `${s.task}@${s.at}`)).toEqual([
      't@2024-05-01T06:15:00.000Z',
      't@2024-05-01T07:00:00.000Z',
      'u@2024-05-01T07:00:00.000Z',
    ]);
    await b.close();
  });

  it('one-off, clocked, start time and entry expiry', async () => {
    const b = fakeBeat({
      once: { task: 'once', schedule: '1m', oneOff: true },
      clocked: { task: 'clocked', schedule: { clocked: '2024-05-01T09:00:00Z' } },
      later: { task: 'later', schedule: '1m', startTime: '2024-05-01T12:00:00Z' },
      gone: { task: 'gone', schedule: '1m', expires: '2024-05-01T10:01:30Z' },
    });
    await b.at('2024-05-01T10:00:00Z'); // the clocked time passed before beat started: it still fires
    await b.at('2024-05-01T10:01:00Z');
    await b.at('2024-05-01T10:02:00Z');
    await b.at('2024-05-01T10:03:00Z');
    await b.at('2024-05-01T12:00:00Z');
    expect(b.sent.map((s) => `${s.task}@${s.at}`)).toEqual([
      'clocked@2024-05-01T10:00:00.000Z',
      'once@2024-05-01T10:01:00.000Z',
      'gone@2024-05-01T10:01:00.000Z',
      'later@2024-05-01T12:00:00.000Z',
    ]);
    expect(b.sent.find((s) => s.task === 'gone')!.options.expires).toEqual(new Date('2024-05-01T10:01:30Z'));
    const list = await b.beat.listEntries(2);
    expect(list.map((e) => [e.name, e.enabled, e.totalRunCount, e.nextRuns.length])).toEqual([
      ['clocked', false, 1, 0],
      ['gone', true, 1, 0],
      ['later', true, 1, 2],
      ['once', false, 1, 0],
    ]);
    await b.close();
  });

  it('lists entries with their next run times', async () => {
    const b = fakeBeat({
      add: { task: 'tasks.add', schedule: '5s' },
      monday: { task: 'weekly', schedule: { crontab: '30 8 * * mon' } },
    });
    const list = await b.beat.listEntries(3);
    expect(list).toEqual([
      expect.objectContaining({
        name: 'add',
        schedule: 'every 5s',
        nextRuns: [
          new Date('2024-05-01T10:00:05Z'),
          new Date('2024-05-01T10:00:10Z'),
          new Date('2024-05-01T10:00:15Z'),
        ],
      }),
      expect.objectContaining({
        name: 'monday',
        schedule: 'crontab 30 8 * * mon (UTC)',
        nextRuns: [
          new Date('2024-05-06T08:30:00Z'),
          new Date('2024-05-13T08:30:00Z'),
          new Date('2024-05-20T08:30:00Z'),
        ],
      }),
    ]);
    await b.close();
  });

  it('an unregistered task is sent anyway, with a warning', async () => {
    const b = fakeBeat({ py: { task: 'python.only.task', schedule: '5s' } });
    b.app.task('registered', () => 1);
    await b.at('2024-05-01T10:00:00Z');
    await b.at('2024-05-01T10:00:05Z');
    expect(b.sent.map((s) => s.task)).toEqual(['python.only.task']);
    const warnings = b.logs.filter((l) => l.level === 40 && l.entry === 'py');
    expect(warnings).toHaveLength(1);
    expect(warnings[0]!.msg).toMatch(/not registered in this app; sending it anyway/);
    await b.close();
  });

  it('a failed send is retried and the slot is still sent once', async () => {
    const b = fakeBeat({ e: { task: 't', schedule: '5s' } }, { retryMs: 1000 });
    b.sendTask.mockRejectedValueOnce(new Error('broker down'));
    await b.at('2024-05-01T10:00:00Z');
    await b.at('2024-05-01T10:00:05Z');
    expect(b.sent).toHaveLength(0);
    expect(b.logs.some((l) => l.level === 50 && /send failed; retrying/.test(l.msg))).toBe(true);
    await b.at('2024-05-01T10:00:05.500Z');
    expect(b.sent).toHaveLength(0);
    await b.at('2024-05-01T10:00:06Z');
    await b.at('2024-05-01T10:00:06.5Z');
    expect(b.sent.map((s) => s.at)).toEqual(['2024-05-01T10:00:06.000Z']);
    await b.close();
  });

  it('a bad entry stops start() with a message naming it', async () => {
    const b = fakeBeat({ broken: { task: 't', schedule: { crontab: { hour: '24' } } } });
    await expect(b.beat.start()).rejects.toThrow(BeatEntryError);
    await expect(b.beat.start()).rejects.toThrow(
      /beat entry "broken": crontab hour "24": 24 is out of range \(allowed: 0-23/,
    );
    await b.close();
  });

  it('keeps last-run times in a file across restarts', async () => {
    const file = join(dir, 'state.json');
    const entries = { add: { task: 'tasks.add', schedule: '5s', args: [14, 15] } };
    const first = fakeBeat(entries, { file });
    await first.at('2024-05-01T10:00:00Z');
    await first.at('2024-05-01T10:00:05Z');
    await first.close();
    const saved = JSON.parse(await readFile(file, 'utf8'));
    expect(saved.entries.add).toEqual({
      lastRunAt: '2024-05-01T10:00:05.000Z',
      lastSlot: '2024-05-01T10:00:05.000Z',
      totalRunCount: 1,
    });
    // A restart two seconds later waits for 10:00:10 instead of starting the interval afresh.
    const second = fakeBeat(entries, { file, start: '2024-05-01T10:00:07Z' });
    await second.at('2024-05-01T10:00:07Z');
    await second.at('2024-05-01T10:00:10Z');
    expect(second.sent.map((s) => s.at)).toEqual(['2024-05-01T10:00:10.000Z']);
    await second.close();
  });

  it('a corrupt state file is a clear error, not a silent reset', async () => {
    const file = join(dir, 'corrupt.json');
    await writeFile(file, '{ not json');
    const b = fakeBeat({ add: { task: 't', schedule: '5s' } }, { file });
    await b.at('2024-05-01T10:00:00Z');
    expect(
      b.logs.some(
        (l) =>
          /cannot read the schedule store/.test(l.msg) &&
          /delete it to start afresh/.test(String((l.err as { message?: string })?.message)),
      ),
    ).toBe(true);
    expect(b.sent).toHaveLength(0);
    await b.close();
  });

  it('an unreachable store: beat keeps its last schedule and retries', async () => {
    let down = false;
    let loads = 0;
    const entry = resolveEntry('e', { task: 't', schedule: '5s' });
    const store: ScheduleStore = {
      description: 'flaky',
      reloadEveryMs: 1000,
      async load(): Promise<StoredEntry[]> {
        loads++;
        if (down) throw new Error('ECONNREFUSED');
        return [{ entry, state: { totalRunCount: 0 } }];
      },
      async saveState() {
        if (down) throw new Error('ECONNREFUSED');
      },
      async close() {},
    };
    const b = fakeBeat({}, { store, retryMs: 2000 });
    await b.at('2024-05-01T10:00:00Z');
    down = true;
    await b.at('2024-05-01T10:00:05Z');
    await b.at('2024-05-01T10:00:06Z'); // within the retry delay: no new attempt
    await b.at('2024-05-01T10:00:10Z');
    expect(b.sent.map((s) => s.at)).toEqual(['2024-05-01T10:00:05.000Z', '2024-05-01T10:00:10.000Z']);
    expect(loads).toBe(3);
    expect(
      b.logs.filter((l) => /cannot read the schedule store; keeping the last schedule/.test(l.msg)).length,
    ).toBe(2);
    down = false;
    await b.at('2024-05-01T10:00:12Z');
    expect(loads).toBe(4);
    await b.close();
  });

  it('runs on real timers with start() and stop()', async () => {
    const app = new Celeriac({ broker: 'memory://beat-real' });
    const sent: string[] = [];
    app.sendTask = (async (name: string) => {
      sent.push(name);
      return undefined;
    }) as never;
    const beat = new Beat(app, {
      store: {
        description: 'x',
        reloadEveryMs: undefined,
        load: async () => [
          {
            entry: resolveEntry('fast', { task: 'fast', schedule: { every: 100 } }),
            state: { totalRunCount: 0 },
          },
        ],
        saveState: async () => undefined,
        close: async () => undefined,
      },
    });
    await beat.start();
    await new Promise((r) => setTimeout(r, 550));
    await beat.stop();
    const count = sent.length;
    expect(count).toBeGreaterThanOrEqual(3);
    expect(count).toBeLessThanOrEqual(6);
    await new Promise((r) => setTimeout(r, 250));
    expect(sent.length).toBe(count);
    await app.close();
  });
});
