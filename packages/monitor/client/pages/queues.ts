import type { QueueRow, QueueSnapshot } from '../../src/queues/queue-monitor.ts';
import { getJson } from '../lib/api.ts';

const EVERY_MS = 5000;

const count = (n: number | null | undefined): string =>
  n === null || n === undefined ? '—' : n.toLocaleString('en');

function rate(n: number | null | undefined): string {
  if (n === null || n === undefined) return '—';
  const fixed = Math.abs(n) < 10 ? n.toFixed(2) : n.toFixed(0);
  return `${n > 0 ? '+' : ''}${fixed}/s`;
}

/** The same text the server renders (ui/queues-page.ts), per cell. */
function cells(q: QueueRow): Record<string, string> {
  return {
    ready: count(q.ready),
    unacked: count(q.unacked),
    consumers: count(q.consumers ?? (q.workers.length || null)),
    workers: q.workers.join(', ') || '—',
    trend: rate(q.trend),
    publish: rate(q.publishRate),
    deliver: rate(q.deliverRate),
  };
}

/**
 * Queues: refreshes the counts every 5 s from `/api/queues` (with the page's own `?queue=` names),
 * cell by cell with textContent. A queue that appears or vanishes shows on the next reload; a
 * failed poll leaves the last counts and says so under the table.
 */
export function init(page: string): void {
  if (page !== 'queues') return;
  const table = document.getElementById('queues');
  const source = document.getElementById('queues-source');
  if (!table) return;
  const query = new URLSearchParams();
  for (const name of new URLSearchParams(location.search).getAll('queue')) query.append('queue', name);
  const path = `/api/queues${query.size ? `?${query}` : ''}`;
  let busy = false;
  const poll = async () => {
    if (busy || document.hidden) return;
    busy = true;
    try {
      const snapshot = await getJson<QueueSnapshot>(path);
      for (const q of snapshot.queues) {
        const row = table.querySelector<HTMLTableRowElement>(`tr[data-queue="${CSS.escape(q.name)}"]`);
        if (!row || row.dataset.exists !== String(q.exists)) continue;
        for (const [field, text] of Object.entries(cells(q))) {
          const cell = row.querySelector<HTMLElement>(`[data-field="${field}"]`);
          if (cell && cell.textContent?.trim() !== text) cell.textContent = text;
        }
      }
      if (source) {
        const at = new Date(snapshot.at).toISOString().replace('T', ' ').slice(0, 19);
        source.textContent = `${snapshot.describes}. As of ${at} UTC; updated every ${EVERY_MS / 1000} s.`;
      }
    } catch (error) {
      if (source)
        source.textContent = `Could not refresh the counts (${(error as Error).message}); retrying.`;
    } finally {
      busy = false;
    }
  };
  setInterval(() => void poll(), EVERY_MS);
}
