import { cell, setField } from './fields.ts';
import { formatTime } from './format.ts';
import { onLive, serverNow } from './live.ts';
import type { LiveWorker } from './types.ts';

function setOnline(row: HTMLTableRowElement, online: boolean): void {
  const status = row.querySelector<HTMLElement>('[data-field="status"]');
  if (!status) return;
  status.textContent = online ? 'online' : 'offline';
  status.className = online ? 'online' : 'offline';
}

/** Keeps `table#workers` live, and turns a worker offline when its heartbeat window passes. */
export function bindWorkerTable(): void {
  const table = document.querySelector<HTMLTableElement>('table#workers');
  const body = table?.tBodies[0];
  if (!table || !body) return;

  // A worker that goes silent sends no event: expire it here, as the server does (freq x 2).
  setInterval(() => {
    table.querySelectorAll<HTMLTableRowElement>('tr[data-hostname]').forEach((row) => {
      const expires = Number(row.dataset.expires);
      if (!row.dataset.expires || expires < serverNow()) setOnline(row, false);
    });
  }, 1000);

  onLive('worker', (workers: LiveWorker[]) => {
    for (const w of workers) {
      let row = table.querySelector<HTMLTableRowElement>(`tr[data-hostname="${CSS.escape(w.hostname)}"]`);
      if (!row) {
        row = document.createElement('tr');
        row.dataset.hostname = w.hostname;
        row.insertCell().textContent = w.hostname;
        for (const field of ['status', 'active', 'processed', 'loadavg', 'software', 'lastHeartbeat'])
          cell(row, field, '');
        body.appendChild(row);
      }
      row.dataset.expires = w.expires === null ? '' : String(w.expires);
      setOnline(row, w.online);
      setField(row, 'active', w.active === null ? '\u2014' : String(w.active));
      setField(row, 'processed', w.processed === null ? '\u2014' : String(w.processed));
      setField(row, 'loadavg', w.loadavg ? w.loadavg.join(', ') : '\u2014');
      setField(row, 'software', [w.sw_ident, w.sw_ver].filter(Boolean).join(' '));
      setField(row, 'lastHeartbeat', formatTime(w.lastHeartbeat));
    }
  });
}
