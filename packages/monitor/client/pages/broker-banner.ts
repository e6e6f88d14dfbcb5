import { formatTime } from '../lib/format.ts';
import { onLive, type LiveBroker } from '../lib/live.ts';

/**
 * The "broker unreachable since …, retrying" banner (ui/broker-banner.ts renders it, hidden while
 * connected): every page shows and hides it from the live `broker` events.
 */
export function init(page: string): void {
  const banner = document.getElementById('broker-banner');
  if (!banner || page === 'error') return;
  onLive('broker', (status: LiveBroker) => {
    banner.dataset.state = status.state;
    const down = status.state === 'unreachable' || status.state === 'closed';
    banner.hidden = !down;
    if (!down) return;
    const since = `${formatTime(status.since)} UTC`;
    banner.textContent =
      status.state === 'closed'
        ? `Broker connection closed since ${since}; not retrying.`
        : `Broker unreachable since ${since}, retrying${status.error ? ` (${status.error})` : ''}.`;
  });
}
