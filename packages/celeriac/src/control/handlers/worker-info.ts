import os from 'node:os';
import type { ResolvedConfig } from '../../app/config.ts';
import type { QueueSpec } from '../../transports/transport.ts';
import { redactUrl } from '../../util/ids.ts';
import { hasPoolControl } from '../../worker/introspection.ts';
import type { ControlContext } from '../control-panel.ts';

/** `inspect stats` (celery/worker/worker.py `stats`); Flower reads `broker` and `total` directly. */
export function workerStats(ctx: ControlContext): Record<string, unknown> {
  const { worker } = ctx;
  return {
    total: worker.processedTotals(),
    pid: process.pid,
    // A string here, unlike everywhere else (`str(self.app.clock)`).
    clock: String(ctx.clock.value),
    uptime: Math.round((Date.now() - worker.startedAt) / 1000),
    pool: {
      'max-concurrency': worker.concurrency(),
      processes: [process.pid],
      'max-tasks-per-child': 'N/A',
      ...worker.poolStats?.(),
      'put-guarded-by-semaphore': false,
      timeouts: [0, 0],
      writes: 'N/A',
      implementation: `celeriac:${worker.poolName}`,
    },
    broker: brokerInfo(worker.app.conf.broker, ctx.transport.name, worker.app.conf.brokerHeartbeatMs),
    prefetch_count: worker.prefetchCount(),
    rusage: rusage(),
    ...autoscalerInfo(worker),
  };
}

/** celery/worker/autoscale.py `WorkerComponent.info`: present only when the worker autoscales. */
function autoscalerInfo(worker: ControlContext['worker']): Record<string, unknown> {
  const scaler = hasPoolControl(worker) ? worker.autoscaler : undefined;
  if (!scaler) return {};
  const current = worker.concurrency();
  return { autoscaler: { max: scaler.max, min: scaler.min, current, qty: current } };
}

/** kombu `Connection.info()` without the password, as the consumer reports it. */
export function brokerInfo(url: string, transport: string, heartbeatMs: number): Record<string, unknown> {
  let parsed: URL | undefined;
  try {
    parsed = new URL(url);
  } catch {
    parsed = undefined;
  }
  const defaultPort = transport === 'amqp' ? 5672 : transport === 'redis' ? 6379 : null;
  const vhostPath = parsed ? decodeURIComponent(parsed.pathname.replace(/^\//, '')) : '';
  return {
    hostname: parsed?.hostname || null,
    userid: parsed?.username ? decodeURIComponent(parsed.username) : transport === 'amqp' ? 'guest' : null,
    virtual_host: transport === 'amqp' ? vhostPath || '/' : vhostPath || '0',
    port: parsed?.port ? Number(parsed.port) : defaultPort,
    insist: false,
    ssl: parsed ? parsed.protocol === 'amqps:' || parsed.protocol === 'rediss:' : false,
    transport,
    connect_timeout: 4,
    transport_options: {},
    login_method: transport === 'amqp' ? 'PLAIN' : null,
    uri_prefix: null,
    heartbeat: heartbeatMs / 1000,
    failover_strategy: 'round-robin',
    alternates: [],
  };
}

/** getrusage(RUSAGE_SELF) with Python's field names; times in seconds, maxrss in KiB as on Linux. */
export function rusage(): Record<string, number> {
  const r = process.resourceUsage();
  return {
    utime: r.userCPUTime / 1e6,
    stime: r.systemCPUTime / 1e6,
    maxrss: r.maxRSS,
    ixrss: r.sharedMemorySize,
    idrss: r.unsharedDataSize,
    isrss: r.unsharedStackSize,
    minflt: r.minorPageFault,
    majflt: r.majorPageFault,
    nswap: r.swappedOut,
    inblock: r.fsRead,
    oublock: r.fsWrite,
    msgsnd: r.ipcSent,
    msgrcv: r.ipcReceived,
    nsignals: r.signalsCount,
    nvcsw: r.voluntaryContextSwitches,
    nivcsw: r.involuntaryContextSwitches,
  };
}

/** A queue as kombu's `Queue.as_dict(recurse=True)` shows it (`inspect active_queues`). */
export function queueAsDict(queue: QueueSpec): Record<string, unknown> {
  const binding = queue.bindings?.[0];
  const exchange = binding?.exchange ?? {
    name: '',
    type: 'direct' as const,
    durable: true,
    autoDelete: false,
  };
  const args = queue.arguments ?? {};
  const num = (key: string): number | null => (typeof args[key] === 'number' ? (args[key] as number) : null);
  return {
    name: queue.name,
    exchange: {
      name: exchange.name,
      type: exchange.type,
      arguments: exchange.arguments ?? null,
      durable: exchange.durable ?? true,
      passive: false,
      auto_delete: exchange.autoDelete ?? false,
      delivery_mode: null,
      no_declare: false,
    },
    routing_key: binding?.routingKey ?? queue.name,
    queue_arguments: Object.keys(args).length > 0 ? args : null,
    binding_arguments: null,
    consumer_arguments: null,
    durable: queue.durable ?? true,
    exclusive: queue.exclusive ?? false,
    auto_delete: queue.autoDelete ?? false,
    no_ack: false,
    alias: null,
    // kombu lists only bindings beyond the queue's own exchange.
    bindings: (queue.bindings ?? []).slice(1).map((b) => ({
      exchange: b.exchange.name,
      routing_key: b.routingKey,
      arguments: null,
    })),
    no_declare: null,
    // kombu keeps these in seconds.
    expires: num('x-expires') === null ? null : num('x-expires')! / 1000,
    message_ttl: num('x-message-ttl') === null ? null : num('x-message-ttl')! / 1000,
    max_length: num('x-max-length'),
    max_length_bytes: num('x-max-length-bytes'),
    max_priority: num('x-max-priority'),
  };
}

/** `inspect conf`: the settings under Celery's names, URLs without passwords. */
export function configTable(conf: ResolvedConfig): Record<string, unknown> {
  return {
    broker_url: redactUrl(conf.broker),
    result_backend: conf.backend ? redactUrl(conf.backend) : null,
    task_default_queue: conf.defaultQueue,
    timezone: conf.timezone,
    result_expires: conf.resultExpiresMs === null ? null : conf.resultExpiresMs / 1000,
    result_extended: conf.resultExtended,
    task_acks_late: conf.acksLate,
    task_reject_on_worker_lost: conf.rejectOnWorkerLost,
    task_track_started: conf.trackStarted,
    task_ignore_result: conf.ignoreResult,
    worker_concurrency: conf.concurrency,
    worker_prefetch_multiplier: conf.prefetchMultiplier,
    task_default_retry_delay: conf.defaultRetryDelayMs / 1000,
    worker_send_task_events: conf.sendEvents,
    task_send_sent_event: conf.sendSentEvent,
    broker_heartbeat: conf.brokerHeartbeatMs / 1000,
  };
}

/** `inspect report`: the text `celery report` prints (celery/app/utils.py `bugreport`). */
export function bugReport(ctx: ControlContext, version: string): string {
  const conf = ctx.worker.app.conf;
  const settings = Object.entries(configTable(conf))
    .map(([k, v]) => `${k}: ${JSON.stringify(v)}`)
    .join('\n');
  return [
    '',
    `software -> celeriac:${version} node:${process.versions.node}`,
    `platform -> system:${os.type()} arch:${os.arch()}`,
    `            kernel version:${os.release()} imp:Node.js`,
    `loader   -> celeriac`,
    `settings -> transport:${ctx.transport.name} results:${conf.backend ? redactUrl(conf.backend) : 'disabled'}`,
    '',
    settings,
    '',
  ].join('\n');
}
