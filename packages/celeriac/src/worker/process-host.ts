import { MessageChannel } from 'node:worker_threads';
import { Piscina } from 'piscina';
import type { SerializedError, ThreadCall, ThreadOutcome } from './thread-protocol.ts';

/**
 * The inside of a child of the processes pool. IPC messages: `{type: 'call', seq, call}` in,
 * `{type: 'done', seq, outcome, rssBytes}` out; `{type: 'abort', seq, reason}` fires the running
 * task's signal. The task runs in one worker thread of this process, so this thread stays free
 * to notice the parent going away (a killed worker) and exit even while a task spins.
 */
const runner = new Piscina({
  filename: new URL('./thread-entry.mjs', import.meta.url).href,
  minThreads: 1,
  maxThreads: 1,
  idleTimeout: 2 ** 31 - 1,
  workerData: { appModule: process.env.CELERIAC_APP_MODULE ?? '' },
});
const ports = new Map<number, MessagePort>();

type ParentMessage =
  { type: 'call'; seq: number; call: ThreadCall } | { type: 'abort'; seq: number; reason: SerializedError };

process.on('message', (message: ParentMessage) => {
  if (message.type === 'abort') {
    ports.get(message.seq)?.postMessage({ abort: message.reason });
    return;
  }
  if (message.type !== 'call') return;
  const { port1, port2 } = new MessageChannel();
  ports.set(message.seq, port1 as unknown as MessagePort);
  const done = (outcome: ThreadOutcome): void => {
    ports.delete(message.seq);
    port1.close();
    process.send?.({ type: 'done', seq: message.seq, outcome, rssBytes: process.memoryUsage().rss });
  };
  runner.run({ ...message.call, port: port2 }, { transferList: [port2] }).then(done, (error: unknown) => {
    // The thread died (out of memory, process.exit in the task): this process goes too, so the
    // parent sees a lost child, as with a crash of a single-threaded child.
    process.stderr.write(`celeriac pool process: task thread died: ${(error as Error)?.message ?? error}\n`);
    process.exit(70);
  });
});
// The parent going away (worker killed) ends us too: no orphan keeps running tasks.
process.on('disconnect', () => process.exit(0));
