import { setField } from '../lib/fields.ts';
import './worker.css';
import { formatTime } from '../lib/format.ts';
import { onLive, serverNow } from '../lib/live.ts';
import { basePath } from '../lib/page.ts';
import type { LiveWorker } from '../lib/types.ts';

function setStatus(summary: HTMLElement, online: boolean): void {
  const status = summary.querySelector<HTMLElement>('[data-field="status"]');
  if (!status) return;
  status.textContent = online ? 'online' : 'offline';
  status.className = online ? 'online' : 'offline';
}

/**
 * One worker's page: its summary follows the worker's heartbeats live, and once it is forgotten
 * (its page no longer exists) the browser goes back to the list.
 */
export function init(page: string): void {
  if (page !== 'worker') return;
  const summary = document.querySelector<HTMLElement>('#worker-summary');
  const hostname = summary?.dataset.hostname;
  if (summary && hostname) {
    // A silent worker sends nothing: expire it here, as the server does (freq x 2).
    setInterval(() => {
      const expires = Number(summary.dataset.expires);
      if (!summary.dataset.expires || expires < serverNow()) setStatus(summary, false);
    }, 1000);
    onLive('worker', (workers: LiveWorker[]) => {
      const w = workers.find((x) => x.hostname === hostname);
      if (!w) return;
      summary.dataset.expires = w.expires === null ? '' : String(w.expires);
      setStatus(summary, w.online);
      setField(summary, 'active', w.active === null ? '\u2014' : String(w.active));
      setField(summary, 'processed', w.processed === null ? '\u2014' : String(w.processed));
      setField(summary, 'loadavg', w.loadavg ? w.loadavg.join(', ') : '\u2014');
      setField(summary, 'lastHeartbeat', formatTime(w.lastHeartbeat));
    });
  }
  document.querySelector('#control-forget')?.addEventListener('api-done', (event) => {
    const reply = (event as CustomEvent<{ error?: unknown }>).detail;
    if (!reply.error) window.location.assign(`${basePath()}/workers`);
  });
}
