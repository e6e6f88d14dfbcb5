import { CliError } from './errors.ts';

/**
 * SIGTERM and SIGINT for a long-running command, listened to from the moment it starts, so that a
 * signal also stops it while it is still connecting to a broker that refuses it (issue 8). The
 * first signal resolves `received`; later ones go to `onRepeat` (e.g. "stop at once").
 */
export class StopSignals {
  /** The first signal, once one came. */
  signal: NodeJS.Signals | undefined;
  readonly received: Promise<NodeJS.Signals>;
  private resolve!: (signal: NodeJS.Signals) => void;
  private readonly handler = (signal: NodeJS.Signals): void => {
    if (this.signal === undefined) {
      this.signal = signal;
      this.resolve(signal);
    } else {
      this.onRepeat?.(signal);
    }
  };

  constructor(private readonly onRepeat?: (signal: NodeJS.Signals) => void) {
    this.received = new Promise((resolve) => (this.resolve = resolve));
    process.on('SIGTERM', this.handler);
    process.on('SIGINT', this.handler);
  }

  dispose(): void {
    process.off('SIGTERM', this.handler);
    process.off('SIGINT', this.handler);
  }

  /**
   * Awaits a start-up step; a signal meanwhile runs `abort` (which should make the step fail, e.g.
   * by closing the connection it retries) and turns the step's outcome into a CliError that says
   * which signal stopped what. A step that ignores the abort is given up on after `graceMs`.
   */
  async duringStart<T>(
    what: string,
    step: Promise<T>,
    abort: () => Promise<void>,
    graceMs = 5_000,
  ): Promise<T> {
    let timer: NodeJS.Timeout | undefined;
    let settled = false;
    const stopped = this.received.then(async (signal) => {
      // A signal after the step is for the command's own stop path, not for this abort.
      if (settled) return signal;
      await abort().catch(() => undefined);
      await new Promise((resolve) => (timer = setTimeout(resolve, graceMs)));
      return signal;
    });
    try {
      const outcome = await Promise.race([
        step.then(
          (value) => ({ ok: true as const, value }),
          (error: unknown) => ({ ok: false as const, error }),
        ),
        stopped.then((signal) => ({
          ok: false as const,
          error: new Error(`still starting after ${signal}`),
        })),
      ]);
      if (this.signal !== undefined)
        throw new CliError(`${what} stopped by ${this.signal} before it was ready${lastError(outcome)}`, {
          code: 'STOPPED_WHILE_STARTING',
          cause: outcome.ok ? undefined : outcome.error,
        });
      if (!outcome.ok) throw outcome.error;
      return outcome.value;
    } finally {
      settled = true;
      clearTimeout(timer);
    }
  }
}

/** ` (last error: …)`: the innermost cause, usually what the broker answered to each attempt. */
export function lastError(outcome: { ok: boolean; error?: unknown }): string {
  if (outcome.ok) return '';
  let error = outcome.error;
  while (error instanceof Error && error.cause instanceof Error) error = error.cause;
  return error instanceof Error ? ` (last error: ${error.message})` : '';
}

/**
 * Awaits `stopping`; if it is still going after `graceMs` (typically waiting for a broker that is
 * gone: a send, a queue deletion), runs `cut` (close the connections it waits on) and awaits it again.
 */
export async function stopWithin(
  stopping: Promise<void>,
  graceMs: number,
  cut: () => Promise<void>,
): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  const late = await Promise.race([
    stopping.then(() => false),
    new Promise<boolean>((resolve) => (timer = setTimeout(() => resolve(true), graceMs))),
  ]);
  clearTimeout(timer);
  if (late) await cut();
  await stopping;
}
