import { Writable } from 'node:stream';
import { pino } from 'pino';
import { Celeriac } from '../../src/app/celeriac.ts';
import type { CeleriacOptions } from '../../src/app/config.ts';
import { buildTaskMessage } from '../../src/app/message-builder.ts';
import type { ApplyOptions } from '../../src/task/options.ts';
import type { RawMessage } from '../../src/protocol/types.ts';
import type { ResultMeta } from '../../src/result/meta.ts';
import { Worker, type WorkerOptions } from '../../src/worker/worker.ts';
import { uniqueName } from '../helpers/services.ts';

/** A pino logger whose lines land in an array, to assert what the worker says. */
export function captureLogger(): {
  logger: pino.Logger;
  lines: Array<{ level: number; msg: string } & Record<string, unknown>>;
} {
  const lines: Array<{ level: number; msg: string } & Record<string, unknown>> = [];
  const stream = new Writable({
    write(chunk, _enc, done) {
      for (const line of String(chunk).split('\n')) if (line) lines.push(JSON.parse(line));
      done();
    },
  });
  return { logger: pino({ level: 'debug' }, stream), lines };
}

/** An app on its own memory broker and memory result store. */
export function memoryApp(options: CeleriacOptions = {}): Celeriac {
  const name = uniqueName('w');
  return new Celeriac({ broker: `memory://${name}`, backend: `memory://${name}`, ...options });
}

/** Starts a worker; `stopAll` in afterEach stops every worker made here. */
const started: Worker[] = [];
export async function startWorker(app: Celeriac, options: WorkerOptions = {}): Promise<Worker> {
  const worker = new Worker(app, { resultStoreRetryMs: 300, ...options });
  started.push(worker);
  await worker.start();
  return worker;
}

export async function stopAll(): Promise<void> {
  const workers = started.splice(0);
  await Promise.all(workers.map((w) => w.stop({ graceful: false })));
}

/** Polls until `check` returns something truthy (or throws on timeout). */
export async function waitFor<T>(
  check: () => T | Promise<T>,
  timeoutMs = 5_000,
  what = 'condition',
): Promise<NonNullable<T>> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value) return value as NonNullable<T>;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

/** Waits until the stored state of `id` is `status`. */
export async function waitForState(
  app: Celeriac,
  id: string,
  status: string,
  timeoutMs = 5_000,
): Promise<ResultMeta> {
  const backend = await app.requireBackend();
  return waitFor(
    async () => {
      const meta = await backend.get(id);
      return meta.status === status ? meta : undefined;
    },
    timeoutMs,
    `${id} to be ${status}`,
  );
}

/** A task message built as a client would, for publishing raw. */
export function taskMessage(
  name: string,
  args: unknown[] = [],
  kwargs: Record<string, unknown> = {},
  options: ApplyOptions = {},
): { id: string; message: RawMessage } {
  return buildTaskMessage({
    name,
    args,
    kwargs,
    options,
    taskOptions: undefined,
    origin: 'gen1@test',
    replyTo: 'oid',
    priority: 0,
  });
}

/** Publishes raw bytes to the app's default queue, as a foreign or broken producer would. */
export async function publishRaw(
  app: Celeriac,
  message: RawMessage,
  queue = app.conf.defaultQueue,
): Promise<void> {
  const transport = await app.connection();
  await transport.publish(message, { exchange: '', routingKey: queue });
}
