import { workerData } from 'node:worker_threads';
import { createTaskHost } from './task-host.ts';
import {
  deserializeError,
  type SerializedError,
  type ThreadCall,
  type ThreadOutcome,
} from './thread-protocol.ts';

/** The task host inside a thread of the threads pool; the task's signal is driven through `call.port`. */
const run = createTaskHost((workerData as { appModule: string }).appModule);

export async function runInThread(call: ThreadCall): Promise<ThreadOutcome> {
  const controller = new AbortController();
  call.port?.on('message', (message: { abort?: SerializedError }) => {
    if (message.abort) controller.abort(deserializeError(message.abort));
  });
  try {
    return await run(call, controller.signal);
  } finally {
    call.port?.close();
  }
}
