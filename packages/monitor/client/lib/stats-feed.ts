import { getJson } from './api.ts';
import type { StatsSnapshot } from './types.ts';

/**
 * Polls `/api/stats` while the page is visible (every `everyMs`, 5 s by default) and hands each
 * snapshot to `draw`. Polling, not SSE, because the series are whole arrays: sending them on every
 * 250 ms event batch would cost far more than a few small requests a minute.
 */
export function pollStats(draw: (stats: StatsSnapshot) => void, everyMs = 5000): void {
  let timer: number | undefined;
  let busy = false;
  const tick = () => {
    timer = undefined;
    if (busy) return;
    busy = true;
    getJson<StatsSnapshot>('/api/stats')
      .then(draw, (error: unknown) => console.warn('stats:', error))
      .finally(() => {
        busy = false;
        if (!document.hidden) timer = window.setTimeout(tick, everyMs);
      });
  };
  document.addEventListener('visibilitychange', () => {
    if (!document.hidden && timer === undefined && !busy) tick();
  });
  tick();
}
