import type { ChannelModel } from 'amqplib';
import type { Progress } from './progress.ts';

/** Everything a scenario may read; resolved once by run.ts from flags and env. */
export interface BenchSettings {
  readonly quick: boolean;
  readonly amqpUrl: string;
  /** Redis for results, db included (`redis://127.0.0.1:6379/0`). */
  readonly redisUrl: string;
  /** Messages per raw/Celeriac publish and consume run. */
  readonly publishN: number;
  /** Messages pre-loaded for each Celeriac worker run. */
  readonly workerN: number;
  /** Messages pre-loaded for each Python worker run (Python is slower; rates are per second). */
  readonly pythonWorkerN: number;
  /** Unconfirmed publishes in flight, for raw and Celeriac alike. */
  readonly publishWindow: number;
  /** Celeriac worker: async-pool concurrency and prefetch multiplier; raw consume uses the same prefetch. */
  readonly celeriacConcurrency: number;
  readonly prefetchMultiplier: number;
  /** Steady producer rate and duration of the latency runs. */
  readonly latencyRate: number;
  readonly latencyDurationMs: number;
  /** When set, the Celeriac worker child runs with `--cpu-prof` into this directory. */
  readonly profileDir: string | undefined;
}

export interface ScenarioContext {
  readonly settings: BenchSettings;
  readonly progress: Progress;
  /** The harness's own connection (pre-loading, queue depth, clean-up); scenarios open their own for the measured client. */
  readonly conn: ChannelModel;
  /** A queue name unique to this run. */
  uniqueName(prefix: string): string;
  /**
   * Runs one measurement of a scenario; a failure is recorded (table row, latest.json, exit code)
   * and the scenario goes on with its other measurements.
   */
  attempt(what: string, measure: () => Promise<Figure[] | Figure>): Promise<Figure[]>;
}

/** One measured figure: a row of the table and an entry of latest.json. */
export interface Figure {
  /** Stable key used for ratios and targets, e.g. `celeriac.worker.redis`. */
  readonly id: string;
  readonly label: string;
  readonly kind: 'rate' | 'latency' | 'memory';
  /** Messages per second for `rate`, milliseconds for `latency`, MB (resident) for `memory`. */
  readonly value: number;
  /** Messages the figure is based on. */
  readonly n: number;
  readonly details?: Record<string, number | string | boolean>;
}

export interface Scenario {
  /** For `--only`: `raw`, `celeriac-publish`, `celeriac-worker`, `python-worker`, `latency`, `python-latency`. */
  readonly name: string;
  readonly title: string;
  run(ctx: ScenarioContext): Promise<Figure[]>;
}
