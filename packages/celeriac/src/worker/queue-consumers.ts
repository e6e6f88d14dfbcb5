import type { Celeriac } from '../app/celeriac.ts';
import type { Consumer, Delivery, QueueSpec, Transport } from '../transports/transport.ts';
import type { Logger } from '../util/logger.ts';

export interface QueueConsumersDeps {
  app: Celeriac;
  logger: Logger;
  /** The queues consumed from the start (`-Q`). */
  queues: readonly string[];
  onDelivery: (delivery: Delivery) => void;
  /** ETA messages held in memory: they widen the prefetch window. */
  heldCount: () => number;
}

/**
 * The worker's consumers and their prefetch window (celery/worker/consumer): one consumer for the
 * start-up queues, one per queue `add_consumer` adds; the window is concurrency × multiplier plus
 * the held ETA messages, so memory stays bounded by it however many messages wait.
 */
export class QueueConsumers {
  private transport: Transport | undefined;
  private main: Consumer | undefined;
  /** Queues the main consumer reads (cancel_consumer removes from it). */
  private consumed: string[];
  /** Consumers add_consumer started, by queue. */
  private readonly added = new Map<string, { spec: QueueSpec; consumer: Consumer }>();
  private current = 0;
  /** concurrency × prefetchMultiplier, following pool_grow/pool_shrink. */
  private base = 0;
  private updateQueued = false;
  private stopped = false;

  constructor(private readonly deps: QueueConsumersDeps) {
    this.consumed = [...deps.queues];
  }

  /** The prefetch window now (`basic.qos` count). */
  get prefetch(): number {
    return this.current;
  }

  async start(transport: Transport, basePrefetch: number): Promise<void> {
    this.transport = transport;
    this.base = basePrefetch;
    this.current = basePrefetch;
    this.main = await transport.consume(this.consumed, { prefetch: this.current }, this.deps.onDelivery);
  }

  /** The queues consumed, as specs (`inspect active_queues`). */
  specs(): QueueSpec[] {
    return [
      ...this.consumed.map((name) => this.deps.app.queueSpec(name)),
      ...[...this.added.values()].map((c) => c.spec),
    ];
  }

  /** The pool was resized: the window follows concurrency. */
  setBasePrefetch(prefetch: number): void {
    this.base = prefetch;
    this.update();
  }

  /**
   * Widens the prefetch window by the number of held ETA messages so they do not starve the pool
   * (Celery's `qos.increment_eventually`); coalesced so a burst of ETAs costs one basic.qos.
   */
  update(): void {
    if (this.updateQueued || this.base === 0) return;
    this.updateQueued = true;
    queueMicrotask(() => {
      this.updateQueued = false;
      const wanted = this.base + this.deps.heldCount();
      if (wanted === this.current || !this.main || this.stopped) return;
      this.current = wanted;
      this.main
        .setPrefetch(wanted)
        .catch((error: unknown) =>
          this.deps.logger.warn({ err: error }, `could not change prefetch to ${wanted}`),
        );
    });
  }

  /** add_consumer: declares the queue and starts consuming it; false when already consuming. */
  async add(spec: QueueSpec): Promise<boolean> {
    if (this.consumed.includes(spec.name) || this.added.has(spec.name)) return false;
    const transport = this.transport!;
    await this.deps.app.declareQueueOnce(transport, spec);
    const consumer = await transport.consume([spec.name], { prefetch: this.current }, this.deps.onDelivery);
    this.added.set(spec.name, { spec, consumer });
    this.deps.logger.info({ queue: spec.name }, `started consuming from ${spec.name}`);
    return true;
  }

  /** cancel_consumer: stops consuming `queue`; false when not consuming it. */
  async cancel(queue: string): Promise<boolean> {
    const added = this.added.get(queue);
    if (added) {
      this.added.delete(queue);
      await added.consumer.cancel();
    } else if (this.consumed.includes(queue) && this.transport && this.main) {
      // One consumer reads the start-up queues: cancel it and consume the others again.
      this.consumed = this.consumed.filter((q) => q !== queue);
      const old = this.main;
      this.main = undefined;
      await old.cancel();
      if (this.consumed.length > 0)
        this.main = await this.transport.consume(
          this.consumed,
          { prefetch: this.current },
          this.deps.onDelivery,
        );
    } else return false;
    this.deps.logger.info({ queue }, `no longer consuming from ${queue}`);
    return true;
  }

  /** Stops every consumer (shutdown); nothing more is delivered. */
  async stop(): Promise<void> {
    this.stopped = true;
    try {
      await this.main?.cancel();
      for (const { consumer } of this.added.values()) await consumer.cancel();
      this.added.clear();
    } catch (error) {
      this.deps.logger.warn({ err: error }, 'cancelling the consumer failed');
    }
  }
}
