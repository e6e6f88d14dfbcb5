import type { Transport } from 'celeriac';
import type { Monitor } from '../monitor.ts';
import { queueProbeFor, type QueueProbe, type QueueReading } from './queue-probe.ts';
import { QueueSamples } from './queue-samples.ts';

/** Why a queue is on the list. */
export type QueueSource = 'default' | 'declared' | 'worker' | 'requested';

export interface QueueRow extends QueueReading {
  name: string;
  /** Workers whose `inspect active_queues` reply lists this queue. */
  workers: string[];
  /** Backlog (ready + unacked) change per second over the last minute of samples; null until there are two. */
  trend: number | null;
  trendSeconds: number;
  sources: QueueSource[];
}

export interface QueueSnapshot {
  /** Epoch ms. */
  at: number;
  broker: string;
  describes: string;
  queues: QueueRow[];
}

export interface QueueMonitorOptions {
  /** RabbitMQ management API (Flower's `--broker-api`). */
  brokerApi?: string;
  /** Background sampling for the trend, while someone looks. (Default: 5000 ms) */
  sampleIntervalMs?: number;
  /** Sampling stops this long after the last request. (Default: 5 min) */
  idleStopMs?: number;
  /** Ask workers for their queues again after this. (Default: 30 s) */
  workerQueuesMaxAgeMs?: number;
  /** A broker that has not answered by then is reported as unavailable. (Default: 5000 ms) */
  probeTimeoutMs?: number;
}

/** The broker did not answer in time (it may still be reconnecting). */
export class QueueProbeTimeoutError extends Error {
  readonly code = 'QUEUE_PROBE_TIMEOUT';
}

/** A queue name as the API and page accept it: printable, up to 255 characters (AMQP's limit). */
export const QUEUE_NAME = /^[^\p{Cc}]{1,255}$/u;
const MAX_REQUESTED = 50;
const REQUESTED_TTL_MS = 10 * 60_000;

/**
 * Which queues to watch, their counts from the broker, and their trend. Queues: the app's default and
 * declared queues, every queue workers report in `inspect active_queues`, and names asked for by
 * hand (remembered for 10 minutes so their trend builds up). Sampling runs in the background only
 * while someone has looked in the last few minutes, and stops when the broker connection closes.
 */
export class QueueMonitor {
  private readonly samples = new QueueSamples();
  private readonly requested = new Map<string, number>();
  private workerQueues = new Map<string, string[]>();
  private workerQueuesAt = 0;
  private refreshing: Promise<void> | undefined;
  private probe: QueueProbe | undefined;
  private transport: Transport | undefined;
  private timer: NodeJS.Timeout | undefined;
  private lastRequestAt = 0;
  private sampling = false;

  constructor(
    private readonly monitor: Monitor,
    private readonly options: QueueMonitorOptions = {},
  ) {}

  /** Counts for every watched queue plus `extra` (names asked for now). */
  async snapshot(extra: readonly string[] = []): Promise<QueueSnapshot> {
    const now = Date.now();
    this.lastRequestAt = now;
    for (const name of extra) this.requested.set(name, now);
    this.pruneRequested(now);
    const probe = await this.inTime(this.ensureProbe(), 'connect');
    await this.refreshWorkerQueues();
    const names = this.names();
    const readings = await this.inTime(probe.probe([...names.keys()]), 'answer');
    const at = Date.now();
    this.record(readings, at);
    this.startSampling();
    const byQueue = this.workersByQueue();
    const queues = [...names].map(([name, sources]) => {
      const reading = readings.get(name) ?? { exists: false, ready: null, unacked: null, consumers: null };
      return {
        name,
        ...reading,
        workers: byQueue.get(name) ?? [],
        trend: this.samples.trend(name),
        trendSeconds: Math.round(this.samples.span(name)),
        sources: [...sources],
      };
    });
    return { at, broker: probe.broker, describes: probe.describes, queues };
  }

  /** A connection that retries forever, or a command queued while offline, must not hang the page. */
  private async inTime<T>(work: Promise<T>, what: string): Promise<T> {
    const ms = this.options.probeTimeoutMs ?? 5000;
    let timer: NodeJS.Timeout | undefined;
    const late = new Promise<never>((_, reject) => {
      timer = setTimeout(
        () => reject(new QueueProbeTimeoutError(`the broker did not ${what} within ${ms} ms`)),
        ms,
      );
    });
    work.catch(() => undefined); // a late failure after the timeout is nobody's to handle
    try {
      return await Promise.race([work, late]);
    } finally {
      clearTimeout(timer);
    }
  }

  /** Stops background sampling (the broker connection closing does it too). */
  stop(): void {
    clearInterval(this.timer);
    this.timer = undefined;
  }

  private async ensureProbe(): Promise<QueueProbe> {
    const transport = await this.monitor.app.connection();
    if (this.probe && this.transport === transport) return this.probe;
    this.stop();
    this.transport = transport;
    this.probe = queueProbeFor(transport, {
      brokerUrl: this.monitor.app.conf.broker,
      ...(this.options.brokerApi && { brokerApi: this.options.brokerApi }),
    });
    transport.onStatus((status) => {
      if (status.state === 'closed' && this.transport === transport) {
        this.stop();
        this.probe = undefined;
        this.transport = undefined;
      }
    });
    return this.probe;
  }

  private names(): Map<string, Set<QueueSource>> {
    const names = new Map<string, Set<QueueSource>>();
    const add = (name: string, source: QueueSource) => {
      let sources = names.get(name);
      if (!sources) names.set(name, (sources = new Set()));
      sources.add(source);
    };
    add(this.monitor.app.conf.defaultQueue, 'default');
    for (const q of this.monitor.app.conf.queues) add(q.name, 'declared');
    for (const queues of this.workerQueues.values()) for (const q of queues) add(q, 'worker');
    for (const name of this.requested.keys()) add(name, 'requested');
    return new Map([...names].sort(([a], [b]) => a.localeCompare(b)));
  }

  private workersByQueue(): Map<string, string[]> {
    const out = new Map<string, string[]>();
    for (const [node, queues] of this.workerQueues) {
      for (const queue of queues) out.set(queue, [...(out.get(queue) ?? []), node]);
    }
    return out;
  }

  /** One `inspect active_queues` broadcast at most every 30 s, shared by concurrent requests. */
  private refreshWorkerQueues(): Promise<void> {
    const maxAge = this.options.workerQueuesMaxAgeMs ?? 30_000;
    if (Date.now() - this.workerQueuesAt < maxAge) return Promise.resolve();
    this.refreshing ??= (async () => {
      try {
        const replies = await this.monitor.control.inspect(
          'active_queues',
          {},
          { timeoutMs: this.monitor.inspectTimeoutMs },
        );
        const next = new Map<string, string[]>();
        for (const [node, reply] of Object.entries(replies)) next.set(node, queueNames(reply));
        this.workerQueues = next;
        this.workerQueuesAt = Date.now();
      } catch (error) {
        this.monitor.logger.warn({ err: error }, 'monitor: inspect active_queues failed');
      } finally {
        this.refreshing = undefined;
      }
    })();
    return this.refreshing;
  }

  private record(readings: Map<string, QueueReading>, at: number): void {
    for (const [name, r] of readings) {
      if (!r.exists || r.ready === null) this.samples.forget(name);
      else this.samples.add(name, r.ready + (r.unacked ?? 0), at);
    }
  }

  private startSampling(): void {
    if (this.timer) return;
    const every = this.options.sampleIntervalMs ?? 5000;
    const idle = this.options.idleStopMs ?? 5 * 60_000;
    this.timer = setInterval(() => {
      if (Date.now() - this.lastRequestAt > idle) return this.stop();
      void this.sampleOnce();
    }, every);
    this.timer.unref();
  }

  /** A background reading for the trend; never opens a connection (the app may be closing). */
  private async sampleOnce(): Promise<void> {
    const probe = this.probe;
    if (!probe || this.sampling) return;
    this.sampling = true;
    try {
      this.pruneRequested(Date.now());
      this.record(await probe.probe([...this.names().keys()]), Date.now());
    } catch (error) {
      this.monitor.logger.debug({ err: error }, 'monitor: sampling queue counts failed');
    } finally {
      this.sampling = false;
    }
  }

  private pruneRequested(now: number): void {
    for (const [name, at] of this.requested) if (now - at > REQUESTED_TTL_MS) this.requested.delete(name);
    // Oldest first in a Map: drop those past the cap.
    for (const name of this.requested.keys()) {
      if (this.requested.size <= MAX_REQUESTED) break;
      this.requested.delete(name);
    }
  }
}

/** Names out of an `active_queues` reply (a list of kombu queue dicts). */
function queueNames(reply: unknown): string[] {
  if (!Array.isArray(reply)) return [];
  return reply
    .map((q) => (q && typeof q === 'object' ? (q as { name?: unknown }).name : undefined))
    .filter((n): n is string => typeof n === 'string' && QUEUE_NAME.test(n));
}

const monitors = new WeakMap<Monitor, QueueMonitor>();

/** The one QueueMonitor of a Monitor (created on first use). */
export function queueMonitorFor(monitor: Monitor, options?: QueueMonitorOptions): QueueMonitor {
  let queues = monitors.get(monitor);
  if (!queues) monitors.set(monitor, (queues = new QueueMonitor(monitor, options)));
  return queues;
}
