import { Writable } from 'node:stream';
import { pino } from 'pino';
import { vi } from 'vitest';
import { Celeriac } from '../../src/app/celeriac.ts';
import { Beat, type BeatOptions } from '../../src/beat/beat.ts';
import type { BeatEntryDefinition } from '../../src/beat/entry.ts';
import { ConfigFileStore } from '../../src/beat/stores/config-file-store.ts';
import type { ApplyOptions } from '../../src/task/options.ts';
import { uniqueName } from '../helpers/services.ts';

export interface Sent {
  task: string;
  args: readonly unknown[];
  kwargs: Record<string, unknown>;
  options: ApplyOptions;
  at: string;
}

/** A beat on a fake clock over an in-memory broker, recording every send and every log line. */
export function fakeBeat(
  entries: Record<string, BeatEntryDefinition>,
  options: BeatOptions & { start?: string; file?: string; app?: Celeriac } = {},
) {
  let now = Date.parse(options.start ?? '2024-05-01T10:00:00Z');
  const logs: Array<{ level: number; msg: string; [k: string]: unknown }> = [];
  const logger = pino(
    { level: 'debug' },
    new Writable({
      write(chunk, _enc, done) {
        logs.push(JSON.parse(String(chunk)));
        done();
      },
    }),
  );
  const app = options.app ?? new Celeriac({ broker: `memory://${uniqueName('beat')}` });
  const sent: Sent[] = [];
  const realSend = app.sendTask.bind(app);
  const sendTask = vi
    .spyOn(app, 'sendTask')
    .mockImplementation(async (task, args = [], kwargs = {}, opts = {}) => {
      const result = await realSend(task, args, kwargs, opts);
      sent.push({ task, args, kwargs, options: opts, at: new Date(now).toISOString() });
      return result;
    });
  const store =
    options.store ?? new ConfigFileStore({ entries, file: options.file, timezone: app.conf.timezone });
  const beat = new Beat(app, { logger, ...options, store, now: () => now });
  return {
    app,
    beat,
    sent,
    logs,
    sendTask,
    /** Moves the clock to an ISO time or by ms, then ticks. */
    async at(time: string | number): Promise<number> {
      now = typeof time === 'number' ? now + time : Date.parse(time);
      return beat.tick();
    },
    now: () => new Date(now).toISOString(),
    async close() {
      await beat.stop();
      await app.close();
    },
  };
}
