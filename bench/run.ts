/**
 * `npm run bench`: Celeriac side by side with the raw broker client (amqplib) and Python
 * Celery 5.2 on the same RabbitMQ and Redis. Prints a Markdown table to stdout (progress goes to
 * stderr) and writes bench/results/latest.json.
 *
 *   npm run bench                      # everything, ~2-4 minutes (more on a loaded machine)
 *   npm run bench -- --quick           # fewer messages, under a minute
 *   npm run bench -- --only raw,latency
 *   npm run bench -- --profile         # --cpu-prof for the Celeriac worker child (bench/results/profiles)
 *
 * Env: BENCH_AMQP_URL, BENCH_REDIS_URL, BENCH_PYTHON.
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { dirname, resolve } from 'node:path';
import { performance } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import { openAmqp } from './lib/amqp.ts';
import { Progress } from './lib/progress.ts';
import { compare, markdownTable } from './lib/report.ts';
import type { BenchSettings, Figure, Scenario } from './lib/types.ts';
import { PYTHON, REPO_ROOT } from './lib/workers.ts';
import { beatScenario } from './scenarios/beat.ts';
import { celeriacPublishScenario } from './scenarios/celeriac-publish.ts';
import { celeriacWorkerScenario } from './scenarios/celeriac-worker.ts';
import { latencyScenario, pythonLatencyScenario } from './scenarios/latency.ts';
import { monitorScenario } from './scenarios/monitor.ts';
import { poolsScenario } from './scenarios/pools.ts';
import { pythonWorkerScenario } from './scenarios/python-worker.ts';
import { rawScenario } from './scenarios/raw.ts';
import { redisTransportScenario } from './scenarios/redis-transport.ts';

const SCENARIOS: readonly Scenario[] = [
  rawScenario,
  celeriacPublishScenario,
  celeriacWorkerScenario,
  pythonWorkerScenario,
  latencyScenario,
  pythonLatencyScenario,
  redisTransportScenario,
  beatScenario,
  poolsScenario,
  monitorScenario,
];

const { values: flags } = parseArgs({
  options: {
    quick: { type: 'boolean', default: false },
    only: { type: 'string' },
    profile: { type: 'boolean', default: false },
    out: { type: 'string', default: resolve(REPO_ROOT, 'bench/results/latest.json') },
    help: { type: 'boolean', short: 'h', default: false },
  },
});

if (flags.help) {
  process.stdout.write(
    `usage: npm run bench -- [--quick] [--only ${SCENARIOS.map((s) => s.name).join(',')}] [--profile] [--out file.json]\n`,
  );
  process.exit(0);
}

const only = flags.only
  ?.split(',')
  .map((s) => s.trim())
  .filter(Boolean);
const unknown = only?.filter((name) => !SCENARIOS.some((s) => s.name === name)) ?? [];
if (unknown.length > 0) {
  process.stderr.write(
    `unknown scenario ${unknown.join(', ')}: choose from ${SCENARIOS.map((s) => s.name).join(', ')}\n`,
  );
  process.exit(2);
}

const settings: BenchSettings = Object.freeze({
  quick: flags.quick,
  amqpUrl: process.env.BENCH_AMQP_URL ?? 'amqp://guest:guest@127.0.0.1:5672//',
  redisUrl: process.env.BENCH_REDIS_URL ?? 'redis://127.0.0.1:6379/0',
  publishN: flags.quick ? 5_000 : 30_000,
  workerN: flags.quick ? 5_000 : 30_000,
  pythonWorkerN: flags.quick ? 1_500 : 5_000,
  publishWindow: 1000,
  celeriacConcurrency: 50,
  prefetchMultiplier: 4,
  latencyRate: 1000,
  latencyDurationMs: flags.quick ? 2_000 : 5_000,
  profileDir: flags.profile ? resolve(REPO_ROOT, 'bench/results/profiles') : undefined,
});

const selected = SCENARIOS.filter((s) => !only || only.includes(s.name));
const progress = new Progress('bench');
const runTag = `${process.pid.toString(36)}${Date.now().toString(36).slice(-4)}`;
let counter = 0;
const began = performance.now();
const figures: Figure[] = [];
const errors: { scenario: string; message: string }[] = [];

const conn = await openAmqp(settings.amqpUrl).catch((error: Error) => {
  process.stderr.write(`cannot reach RabbitMQ at ${settings.amqpUrl}: ${error.message}\n`);
  process.exit(1);
});
conn.on('error', (error: Error) => progress.log(`harness connection error: ${error.message}`));

for (const [index, scenario] of selected.entries()) {
  progress.setScope(`${index + 1}/${selected.length} ${scenario.name}`);
  progress.log(scenario.title);
  const started = performance.now();
  try {
    const produced = await scenario.run({
      settings,
      progress,
      conn,
      uniqueName: (prefix) => `${prefix}-${runTag}-${++counter}`,
      attempt: async (what, measure) => {
        try {
          const produced = await measure();
          return Array.isArray(produced) ? produced : [produced];
        } catch (error) {
          const message = error instanceof Error ? error.message : String(error);
          errors.push({ scenario: `${scenario.name} (${what})`, message });
          progress.log(`FAILED ${what}: ${message}`);
          return [];
        }
      },
    });
    figures.push(...produced);
    for (const f of produced) {
      const value =
        f.kind === 'rate'
          ? `${Math.round(f.value)} msg/s`
          : `${f.value.toFixed(2)} ${f.kind === 'memory' ? 'MB' : 'ms'}`;
      progress.log(`${f.label}: ${value} ${JSON.stringify(f.details ?? {})}`);
    }
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    errors.push({ scenario: scenario.name, message });
    progress.log(`FAILED: ${message}`);
  }
  progress.log(`done in ${((performance.now() - started) / 1000).toFixed(1)} s`);
}
await conn.close().catch(() => {});

const compared = compare(figures);
const durationMs = Math.round(performance.now() - began);
process.stdout.write(
  `\n${markdownTable(compared, errors)}\n\n` +
    `${settings.quick ? 'quick' : 'full'} run, ${(durationMs / 1000).toFixed(0)} s, ${os.cpus().length} cores, ` +
    `node ${process.version}; N = ${settings.publishN} (publish/consume), ${settings.workerN} (Celeriac worker), ` +
    `${settings.pythonWorkerN} (Python worker). Figures are noisy on a shared 2-core machine.\n`,
);

const report = {
  date: new Date().toISOString(),
  mode: settings.quick ? 'quick' : 'full',
  only: only ?? null,
  durationMs,
  machine: {
    cores: os.cpus().length,
    cpu: os.cpus()[0]?.model ?? 'unknown',
    memoryGiB: Math.round(os.totalmem() / 2 ** 30),
    loadAverageAtEnd: os.loadavg().map((l) => Math.round(l * 100) / 100),
    platform: `${os.platform()} ${os.release()}`,
  },
  versions: { node: process.version, pythonCelery: pythonCeleryVersion() },
  settings: { ...settings, amqpUrl: redact(settings.amqpUrl), profileDir: settings.profileDir ?? null },
  figures: compared.map((f) => ({
    ...f,
    value: Number.isFinite(f.value) ? Math.round(f.value * 100) / 100 : null,
  })),
  errors,
};
mkdirSync(dirname(flags.out), { recursive: true });
writeFileSync(flags.out, `${JSON.stringify(report, null, 2)}\n`);
process.stderr.write(`wrote ${flags.out}\n`);
process.exit(errors.length > 0 ? 1 : 0);

function pythonCeleryVersion(): string | null {
  try {
    return execFileSync(PYTHON, ['-c', 'import celery; print(celery.__version__)'], {
      encoding: 'utf8',
    }).trim();
  } catch {
    return null;
  }
}

function redact(url: string): string {
  return url.replace(/^([a-z0-9+.-]+:\/\/[^:/@]*:)[^@]*@/i, '$1**@');
}
