import { html } from 'hono/html';
import type { BrokerStatusSnapshot } from '../server/status-broker.ts';
import { formatTime, type Html } from './layout.ts';

/**
 * "Broker unreachable since …, retrying": on every page, rendered hidden while connected so the
 * live script (client/pages/broker-banner.ts) can show and hide it from the SSE `broker` events.
 */
export function brokerBanner(status: BrokerStatusSnapshot | undefined): Html {
  const down = status !== undefined && (status.state === 'unreachable' || status.state === 'closed');
  return html`<p
    class="warning broker-banner"
    id="broker-banner"
    role="alert"
    data-state="${status?.state ?? 'unknown'}"
    ${down ? '' : 'hidden'}
  >
    ${brokerBannerText(status)}
  </p>`;
}

/** The banner's sentence; the live script builds the same one. */
export function brokerBannerText(status: BrokerStatusSnapshot | undefined): string {
  if (!status || (status.state !== 'unreachable' && status.state !== 'closed')) return '';
  const since = `${formatTime(status.since)} UTC`;
  if (status.state === 'closed') return `Broker connection closed since ${since}; not retrying.`;
  return `Broker unreachable since ${since}, retrying${status.error ? ` (${status.error})` : ''}.`;
}
