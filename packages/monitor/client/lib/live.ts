import { basePath, meta } from './page.ts';
import type { LiveSummary, LiveTask, LiveWorker } from './types.ts';

interface Handlers {
  task: Array<(tasks: LiveTask[]) => void>;
  worker: Array<(workers: LiveWorker[]) => void>;
  summary: Array<(summary: LiveSummary) => void>;
  /** The broker connection (server/status-broker.ts `BrokerStatusSnapshot`), at connect and on change. */
  broker: Array<(status: LiveBroker) => void>;
}

export interface LiveBroker {
  state: 'connecting' | 'connected' | 'unreachable' | 'closed';
  since: number;
  error: string | null;
}

const handlers: Handlers = { task: [], worker: [], summary: [], broker: [] };
// Server clock minus ours, so liveness is judged on the server's time.
let skew = 0;

/** Now on the server's clock (epoch seconds). */
export const serverNow = (): number => Date.now() / 1000 + skew;

export function onLive<K extends keyof Handlers>(event: K, handler: Handlers[K][number]): void {
  (handlers[event] as Array<Handlers[K][number]>).push(handler);
}

/** Opens the page's one SSE connection (`/api/events`) and shows its state in the header. */
export function startLive(): void {
  const status = document.getElementById('live-status');
  if (!window.EventSource || !status) return;
  // The version the page was rendered at: what changed between the render and this connection
  // comes first, so the page misses nothing (a reconnect resumes from the last batch's id).
  const since = meta('live-since');
  const source = new EventSource(
    `${basePath()}/api/events${since ? `?since=${encodeURIComponent(since)}` : ''}`,
  );
  source.onopen = () => {
    status.textContent = 'live';
    status.className = 'live on';
  };
  source.onerror = () => {
    status.textContent = 'reconnecting';
    status.className = 'live';
  };
  source.addEventListener('task', (e) => {
    const tasks = JSON.parse((e as MessageEvent<string>).data) as LiveTask[];
    for (const handler of handlers.task) handler(tasks);
  });
  source.addEventListener('worker', (e) => {
    const workers = JSON.parse((e as MessageEvent<string>).data) as LiveWorker[];
    for (const handler of handlers.worker) handler(workers);
  });
  source.addEventListener('broker', (e) => {
    const status = JSON.parse((e as MessageEvent<string>).data) as LiveBroker;
    for (const handler of handlers.broker) handler(status);
  });
  source.addEventListener('summary', (e) => {
    const summary = JSON.parse((e as MessageEvent<string>).data) as LiveSummary;
    skew = summary.now - Date.now() / 1000;
    for (const handler of handlers.summary) handler(summary);
  });
}
