/**
 * Runs `count` calls of `send` with at most `window` in flight: the "many in flight" pattern of
 * a producer that does not await each `delay()` in turn.
 */
export async function inLanes(
  count: number,
  window: number,
  send: () => Promise<unknown>,
  onProgress?: (done: number) => void,
): Promise<void> {
  let started = 0;
  let done = 0;
  const lane = async () => {
    while (started < count) {
      started++;
      await send();
      done++;
      if ((done & 1023) === 0) onProgress?.(done);
    }
  };
  await Promise.all(Array.from({ length: Math.min(window, count) }, lane));
}

/**
 * Calls `fire` `count` times at a steady `ratePerSecond`, catching up on late timer ticks, so the
 * offered load does not depend on how fast earlier calls finish (an open-loop producer).
 */
export function paced(ratePerSecond: number, count: number, fire: () => void): Promise<void> {
  return new Promise((resolve) => {
    const started = performance.now();
    let sent = 0;
    const tick = () => {
      const due = Math.min(count, Math.floor(((performance.now() - started) * ratePerSecond) / 1000) + 1);
      while (sent < due) {
        sent++;
        fire();
      }
      if (sent < count) setTimeout(tick, 1);
      else resolve();
    };
    tick();
  });
}
