import type { Celeriac } from '../../packages/celeriac/src/index.ts';
import type { Worker } from '../../packages/celeriac/src/worker/worker.ts';

/**
 * The life of a bench worker child: start, tell the parent `ready`, stop on `stop`, SIGTERM or a lost
 * parent. Exiting (rather than waiting for the loop to empty) also flushes a --cpu-prof profile.
 */
export async function runWorkerChild(worker: Worker, app: Celeriac): Promise<void> {
  let stopping = false;
  const shutdown = async (): Promise<void> => {
    if (stopping) return;
    stopping = true;
    await worker.stop();
    await app.close();
    process.exit(0);
  };
  process.on('message', (message: { type?: string }) => {
    if (message?.type === 'stop') void shutdown();
  });
  process.on('SIGTERM', () => void shutdown());
  process.on('disconnect', () => void shutdown());
  await worker.start();
  process.send?.({ type: 'ready' });
}
