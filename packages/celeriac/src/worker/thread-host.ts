import { threadId, workerData, type MessagePort } from 'node:worker_threads';
import { createTaskHost } from './task-host.ts';
import {
  deserializeError,
  type SerializedError,
  type ThreadCall,
  type ThreadOutcome,
} from './thread-protocol.ts';

/**
 * The task host inside a thread of the threads pool (and of a processes-pool child). The task's
 * signal is driven through a port: the slot's `control` port handed over once at load (abort
 * messages carry the call's `seq`), or a per-call `call.port`.
 */
const { appModule, measureMemory } = workerData as { appModule: string; measureMemory?: boolean };
const run = createTaskHost(appModule);
let running: { seq: number | undefined; controller: AbortController } | undefined;
/** An abort for a call not started yet: the two ports do not keep each other's order. */
let early: { seq: number; reason: SerializedError } | undefined;

function onAbort(message: { abort?: SerializedError; seq?: number }): void {
  if (!message.abort) return;
  if (running && (message.seq === undefined || message.seq === running.seq))
    running.controller.abort(deserializeError(message.abort));
  else if (message.seq !== undefined && (running?.seq === undefined || message.seq > running.seq))
    early = { seq: message.seq, reason: message.abort };
}

export async function runInThread(call: ThreadCall): Promise<ThreadOutcome> {
  if (call.control) {
    const control: MessagePort = call.control;
    control.on('message', onAbort);
    control.unref(); // the thread ends when piscina ends it, not kept alive by this port
  }
  const controller = new AbortController();
  running = { seq: call.seq, controller };
  if (early && early.seq === call.seq) controller.abort(deserializeError(early.reason));
  early = undefined;
  call.port?.on('message', onAbort);
  try {
    const outcome = await run(call, controller.signal);
    if (!measureMemory) return { ...outcome, threadId };
    // The thread's own heap and external memory (per isolate), for maxMemoryPerChild.
    const { heapUsed, external } = process.memoryUsage();
    return { ...outcome, threadId, memoryBytes: heapUsed + external };
  } finally {
    running = undefined;
    call.port?.close();
  }
}
