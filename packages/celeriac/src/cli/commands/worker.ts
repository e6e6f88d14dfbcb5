import os from 'node:os';
import type { Command } from 'commander';
import type { Celeriac } from '../../app/celeriac.ts';
import { NO_REPLY } from '../../control/control-panel.ts';
import { celeriacVersion } from '../../control/version.ts';
import type { Logger } from '../../util/logger.ts';
import { redactUrl } from '../../util/ids.ts';
import type { Worker } from '../../worker/worker.ts';
import { WorkerStartAbortedError } from '../../worker/worker-errors.ts';
import type { CliContext } from '../context.ts';
import { CliError, UsageError } from '../errors.ts';
import { say } from '../output.ts';
import { commaList, parseInteger } from '../parse.ts';
import { lastError } from '../stop-signals.ts';
import { action, examples } from './shared.ts';

interface WorkerCliOptions {
  queues?: string;
  concurrency?: string;
  pool?: string;
  hostname?: string;
  taskEvents?: boolean;
  beat?: boolean;
  prefetchMultiplier?: string;
  statedb?: string;
  maxMemoryPerChild?: string;
  maxTasksPerChild?: string;
  autoscale?: string;
  withoutMingle?: boolean;
  withoutHeartbeat?: boolean;
}

const POOLS = ['async', 'threads', 'processes'];

/** `celeriac worker`: runs a worker until SIGTERM/SIGINT (celery/bin/worker.py). */
export function registerWorker(program: Command): void {
  const cmd = program
    .command('worker')
    .description('Start a worker: consume the queues and run the app’s tasks until SIGTERM/SIGINT.')
    .option('-Q, --queues <q1,q2>', 'comma-separated queues to consume (default: the app default queue)')
    .option('-c, --concurrency <n>', 'tasks run at once (default: the app config, 10)')
    .option('-P, --pool <pool>', `execution pool: ${POOLS.join(', ')}`, 'async')
    .option(
      '-n, --hostname <name@host>',
      'node name; %h is the host name, %n its first part (default: celery@%h)',
    )
    .option('-E, --task-events', 'send task events (for monitors such as Flower or celeriac monitor)')
    .option('-B, --beat', 'also run the periodic task scheduler in this process')
    .option('--prefetch-multiplier <n>', 'unacked messages per unit of concurrency (0 = unlimited)')
    .option('--statedb <file>', 'keep the revoked task ids in this file across restarts')
    .option(
      '--max-memory-per-child <KiB>',
      'threads/processes: replace a thread or child whose memory passed this after its task',
    )
    .option('--max-tasks-per-child <n>', 'threads/processes: replace a thread or child after this many tasks')
    .option('--autoscale <max,min>', 'grow the pool up to max while tasks wait, shrink it to min when idle')
    .option('--without-mingle', 'do not sync revoked ids with other workers at start-up')
    .option(
      '--without-heartbeat',
      'send no worker-online/heartbeat/offline events (monitors will not see the worker)',
    )
    .addHelpText(
      'after',
      '\nSignals: the first SIGTERM or SIGINT starts a warm shutdown (running tasks finish, up to\n' +
        "the app's shutdownGrace); a second one shuts down at once.",
    )
    .action(action<WorkerCliOptions>('worker', (ctx, opts) => runWorker(ctx, opts), 'info'));
  examples(cmd, [
    'celeriac -A tasks.ts worker -l info',
    'celeriac -A tasks.ts worker -Q emails,reports -c 20 -n emails@%h -E',
    'celeriac -A tasks.ts -b amqp://guest:guest@rabbit// worker',
  ]);
}

async function runWorker(ctx: CliContext, opts: WorkerCliOptions): Promise<number> {
  const pool = opts.pool ?? 'async';
  if (!POOLS.includes(pool))
    throw new UsageError(`-P/--pool must be one of ${POOLS.join(', ')}, got ${JSON.stringify(pool)}`);
  if (pool !== 'async' && !ctx.options.app)
    throw new UsageError(`-P ${pool} needs -A <module>: each pool thread or process loads the task module`);
  const maxMemoryPerChildKb = parseInteger(opts.maxMemoryPerChild, '--max-memory-per-child', 1);
  const maxTasksPerChild = parseInteger(opts.maxTasksPerChild, '--max-tasks-per-child', 1);
  const autoscale = parseAutoscale(opts.autoscale);
  const concurrency = parseInteger(opts.concurrency, '--concurrency', 1);
  const prefetchMultiplier = parseInteger(opts.prefetchMultiplier, '--prefetch-multiplier', 0);
  if (opts.hostname !== undefined && !opts.hostname.trim())
    throw new UsageError('-n/--hostname must not be empty');
  const app = await ctx.app({ required: true, oneShot: false });
  const { Worker } = await import('../../worker/worker.ts');
  let worker: Worker;
  try {
    worker = new Worker(app, {
      queues: commaList(opts.queues),
      concurrency,
      hostname: opts.hostname,
      prefetchMultiplier,
      sendEvents: opts.taskEvents === true ? true : undefined,
      logger: ctx.logger,
      pool: pool as 'async' | 'threads' | 'processes',
      appModule: ctx.options.app,
      maxMemoryPerChildKb,
      maxTasksPerChild,
      autoscale,
      statedb: opts.statedb,
      mingle: opts.withoutMingle !== true,
      remoteControl: true,
      heartbeat: opts.withoutHeartbeat !== true,
    });
  } catch (error) {
    // The worker validates its options; a bad one is the user's to fix.
    throw new UsageError((error as Error).message);
  }
  return new WorkerProcess(app, worker, ctx.logger, opts.beat === true).run();
}

/** `--autoscale 10,3`: max,min; a lone max means min 1 (Celery allows 0; our pool needs a slot). */
function parseAutoscale(text: string | undefined): { max: number; min: number } | undefined {
  if (text === undefined) return undefined;
  const [max, min = '1', ...rest] = text.split(',').map((s) => s.trim());
  const n = (s: string | undefined) => (s !== undefined && /^\d+$/.test(s) ? Number(s) : NaN);
  if (rest.length > 0 || !(n(max) >= n(min) && n(min) >= 1))
    throw new UsageError(
      `--autoscale must be max,min with max >= min >= 1 (e.g. 10,3), got ${JSON.stringify(text)}`,
    );
  return { max: n(max), min: n(min) };
}

/** The worker's process lifecycle: start, banner, signals, shutdown. */
class WorkerProcess {
  private beat: { stop(): Promise<void> } | undefined;
  private shuttingDown: Promise<void> | undefined;
  private exitCode = 0;
  private stopSignal: NodeJS.Signals | undefined;
  private finished!: () => void;
  private readonly done = new Promise<void>((resolve) => (this.finished = resolve));

  constructor(
    private readonly app: Celeriac,
    private readonly worker: Worker,
    private readonly logger: Logger,
    private readonly withBeat: boolean,
  ) {}

  async run(): Promise<number> {
    const onSignal = (signal: NodeJS.Signals) => this.onSignal(signal);
    process.on('SIGTERM', onSignal);
    process.on('SIGINT', onSignal);
    try {
      try {
        await this.worker.start();
      } catch (error) {
        if (this.stopSignal !== undefined) {
          // Stopped while starting (e.g. retrying a broker that refuses it): the shutdown is under way.
          await this.shuttingDown;
          throw new CliError(
            `worker stopped by ${this.stopSignal} before it was ready${this.neverConnected(error)}${lastError({ ok: false, error })}`,
            { code: 'WORKER_START_ABORTED', cause: error },
          );
        }
        await this.worker.stop({ graceful: false }).catch(() => undefined);
        throw new CliError(`worker could not start: ${(error as Error).message}`, {
          code: 'WORKER_START',
          cause: error,
        });
      }
      this.routeRemoteShutdown();
      if (this.withBeat) await this.startBeat();
      say(banner(this.worker));
      await this.done;
      return this.exitCode;
    } finally {
      process.off('SIGTERM', onSignal);
      process.off('SIGINT', onSignal);
    }
  }

  /** A remote `shutdown` takes the same path as SIGTERM, so beat stops too and the process exits. */
  private routeRemoteShutdown(): void {
    this.worker.mailbox?.panel.register('shutdown', (ctx, args) => {
      ctx.logger.warn(typeof args.msg === 'string' ? args.msg : 'Got shutdown from remote');
      void this.shutdown(true, 'remote shutdown');
      return NO_REPLY;
    });
  }

  private async startBeat(): Promise<void> {
    const { Beat } = await import('../../beat/beat.ts');
    const beat = new Beat(this.app, { logger: this.logger });
    await beat.start();
    this.beat = beat;
  }

  /** `: it never connected to <broker>` when the signal came during the connect retries. */
  private neverConnected(error: unknown): string {
    if (!(error instanceof WorkerStartAbortedError) || error.connected) return '';
    return `: it never connected to ${redactUrl(this.app.conf.broker)}`;
  }

  private onSignal(signal: NodeJS.Signals): void {
    this.stopSignal ??= signal;
    if (!this.shuttingDown) {
      this.logger.warn(`worker: warm shutdown (${signal})`);
      void this.shutdown(true, signal);
    } else {
      this.logger.warn(`worker: cold shutdown (${signal})`);
      this.exitCode = 1;
      void this.worker.stop({ graceful: false });
    }
  }

  private shutdown(graceful: boolean, reason: string): Promise<void> {
    this.shuttingDown ??= (async () => {
      this.logger.debug({ reason }, 'worker: shutting down');
      await this.beat?.stop().catch((error: unknown) => this.logger.warn({ err: error }, 'beat stop failed'));
      await this.worker.stop({ graceful });
    })()
      .catch((error: unknown) => {
        this.logger.error({ err: error }, 'worker: shutdown failed');
        this.exitCode = 1;
      })
      .finally(() => this.finished());
    return this.shuttingDown;
  }
}

/** The start banner, laid out like Celery's (celery/apps/worker.py `startup_info`). */
export function banner(worker: Worker): string {
  const d = worker.describe();
  const events = worker.options.sendEvents ? 'ON' : 'OFF (enable -E to monitor tasks in this worker)';
  const left = [
    ` -------------- ${d.hostname} v${celeriacVersion()}`,
    '--- ***** -----',
    `-- ******* ---- ${os.type()}-${os.release()}-${os.arch()} ${new Date().toISOString().replace('T', ' ').slice(0, 19)}`,
    '- *** --- * ---',
    '- ** ---------- [config]',
    `- ** ---------- .> app:         celeriac (node ${process.versions.node})`,
    `- ** ---------- .> transport:   ${d.broker}`,
    `- ** ---------- .> results:     ${d.backend}`,
    `- *** --- * --- .> concurrency: ${d.concurrency} (${d.pool}), prefetch ${d.prefetch}`,
    `-- ******* ---- .> task events: ${events}`,
    '--- ***** -----',
    ' -------------- [queues]',
  ];
  const byName = new Map(worker.queues().map((q) => [q.name, q]));
  const queues = d.queues.map((name) => {
    const binding = byName.get(name)?.bindings?.[0];
    const exchange = binding ? `${binding.exchange.name}(${binding.exchange.type})` : '(direct)';
    return `                .> ${name.padEnd(16)} exchange=${exchange} key=${binding?.routingKey ?? name}`;
  });
  const tasks = d.tasks.filter((t) => !t.startsWith('celery.'));
  return [
    ...left,
    ...queues,
    '',
    '[tasks]',
    ...(tasks.length > 0 ? tasks.map((t) => `  . ${t}`) : ['  (none)']),
    '',
  ].join('\n');
}
