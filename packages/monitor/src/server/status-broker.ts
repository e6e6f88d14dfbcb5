import type { Transport } from 'celeriac';
import { Gauge, type Registry } from 'prom-client';

/** What the monitor knows of its broker connection, for the banner, `/api/status` and `/metrics`. */
export interface BrokerStatusSnapshot {
  /** `connecting` until the first connection, `unreachable` from a lost connection until it is back. */
  state: 'connecting' | 'connected' | 'unreachable' | 'closed';
  /** Epoch seconds the state began. */
  since: number;
  /** The broker URL without its password. */
  url: string | null;
  /** Why the connection went, while unreachable. */
  error: string | null;
  /** Reconnection attempts since it went. */
  attempts: number;
  /** Times the connection was lost since the monitor started. */
  outages: number;
}

type Listener = (status: BrokerStatusSnapshot) => void;

/**
 * Follows the transport's connection state (`Transport.onStatus`: AMQP and Redis report lost,
 * retrying and restored; memory is always connected). The transports reconnect by themselves
 * and restore their consumers, so the monitor only has to show it.
 */
export class BrokerStatus {
  private status: BrokerStatusSnapshot = {
    state: 'connecting',
    since: Date.now() / 1000,
    url: null,
    error: null,
    attempts: 0,
    outages: 0,
  };
  private readonly listeners = new Set<Listener>();
  private detach: (() => void) | undefined;

  /** Starts following a connected transport; returns the function that stops it. */
  attach(transport: Pick<Transport, 'onStatus' | 'safeUrl'>): () => void {
    this.detach?.();
    this.set({ state: 'connected', url: transport.safeUrl, error: null, attempts: 0 });
    const off = transport.onStatus((status) => {
      switch (status.state) {
        case 'connected':
          this.set({ state: 'connected', error: null, attempts: 0 });
          break;
        case 'disconnected':
          if (this.status.state !== 'unreachable') this.status.outages++;
          this.set({ state: 'unreachable', error: status.error.message });
          break;
        case 'reconnecting':
          // Also reported for a first connection that fails: unreachable all the same.
          if (this.status.state === 'connected') this.status.outages++;
          this.set({ state: 'unreachable', attempts: status.attempt });
          break;
        case 'closed':
          this.set({ state: 'closed' });
          break;
      }
    });
    this.detach = () => {
      off();
      this.detach = undefined;
    };
    return this.detach;
  }

  stop(): void {
    this.detach?.();
  }

  snapshot(): BrokerStatusSnapshot {
    return { ...this.status };
  }

  get connected(): boolean {
    return this.status.state === 'connected';
  }

  /** Called on every change of state (not on every retry); returns the unsubscribe function. */
  onChange(listener: Listener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** `celeriac_monitor_broker_connected` (1/0) and outages, read at scrape time. */
  registerMetrics(registry: Registry): void {
    const status = () => this.status;
    new Gauge({
      name: 'celeriac_monitor_broker_connected',
      help: 'Whether the monitor is connected to the broker (1) or not (0)',
      registers: [registry],
      collect() {
        this.set(status().state === 'connected' ? 1 : 0);
      },
    });
    new Gauge({
      name: 'celeriac_monitor_broker_outages',
      help: 'Broker connections lost since the monitor started',
      registers: [registry],
      collect() {
        this.set(status().outages);
      },
    });
  }

  private set(change: Partial<BrokerStatusSnapshot>): void {
    const previous = this.status.state;
    const next = { ...this.status, ...change };
    if (change.state !== undefined && change.state !== previous) next.since = Date.now() / 1000;
    this.status = next;
    if (next.state === previous) return;
    for (const listener of this.listeners) {
      try {
        listener(this.snapshot());
      } catch {
        // A dead SSE stream must not stop the others from hearing about it.
      }
    }
  }
}
