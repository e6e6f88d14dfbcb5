import { monitorEventLoopDelay, performance } from 'node:perf_hooks';
import { Beat, Celeriac, LocalLease } from '../../packages/celeriac/src/index.ts';
import type { BeatEntry, EntryState, StoredEntry } from '../../packages/celeriac/src/beat/index.ts';
import { resolveEntry, type ScheduleStore } from '../../packages/celeriac/src/beat/index.ts';
import type { Claim } from '../../packages/celeriac/src/beat/lease/lease.ts';
import { formatCount } from '../lib/progress.ts';
import { percentile, ratePerSecond, sleep } from '../lib/stats.ts';
import type { Figure, Scenario, ScenarioContext } from '../lib/types.ts';

const ENTRIES = 10_000;
/** Intervals spread evenly over 1-10 s: about 2,560 sends/s in all (n · ln 10 / 9 s). */
const MIN_EVERY_MS = 1_000;
const MAX_EVERY_MS = 10_000;
/** First slots start this long after the schedule is built, so loading 10,000 entries is not measured. */
const LEAD_MS = 1_500;
const TARGET_P99_MS = 50;

/**
 * Beat with 10,000 interval entries (issue 5): lateness of each send after its due slot, sends/s
 * and the beat's CPU. The broker is `memory://`, purged every second, so the figures are beat's
 * own and not RabbitMQ's (a real broker adds its publish-confirm time to every send).
 */
export const beatScenario: Scenario = {
  name: 'beat',
  title: `beat: ${formatCount(ENTRIES)} interval entries (1-10 s), lateness of sends after their slot`,
  async run(ctx) {
    return ctx.attempt('beat 10,000 entries', () => beatLateness(ctx));
  },
};

/** Entry i runs every `every` ms on slots t0 + offset + k·every: staggered, so the load is steady. */
function grid(i: number, t0: number): { everyMs: number; firstSlotMs: number } {
  const everyMs = MIN_EVERY_MS + Math.floor((i * (MAX_EVERY_MS - MIN_EVERY_MS)) / ENTRIES);
  const offsetMs = Math.floor(((i * 0.618_033_988_75) % 1) * everyMs);
  return { everyMs, firstSlotMs: t0 + LEAD_MS + offsetMs };
}

/** Entries and state in memory; the initial state puts each entry's first slot on its grid. */
class BenchStore implements ScheduleStore {
  readonly description = 'bench (memory)';
  readonly reloadEveryMs = undefined;
  readonly states = new Map<string, EntryState>();
  saves = 0;

  constructor(private readonly entries: readonly BeatEntry[]) {}

  async load(): Promise<StoredEntry[]> {
    return this.entries.map((entry) => ({ entry, state: { ...this.states.get(entry.name)! } }));
  }

  async saveState(name: string, state: EntryState): Promise<void> {
    this.saves++;
    this.states.set(name, state);
  }

  async close(): Promise<void> {}
}

/** The local lease, noting the slot beat claims for each entry just before it sends it. */
class SlotRecordingLease extends LocalLease {
  readonly claimed = new Map<string, number>();

  override async claim(entryName: string, slotMs: number, runAtMs: number): Promise<Claim> {
    this.claimed.set(entryName, slotMs);
    return super.claim(entryName, slotMs, runAtMs);
  }
}

const epochNow = () => performance.timeOrigin + performance.now();

async function beatLateness(ctx: ScenarioContext): Promise<Figure[]> {
  const durationMs = ctx.settings.quick ? 10_000 : 20_000;
  const queue = ctx.uniqueName('bench-beat');
  const app = new Celeriac({ broker: `memory://${queue}`, defaultQueue: queue });
  const t0 = Date.now();
  const entries: BeatEntry[] = [];
  const store = new BenchStore(entries);
  for (let i = 0; i < ENTRIES; i++) {
    const { everyMs, firstSlotMs } = grid(i, t0);
    entries.push(resolveEntry(`e${i}`, { task: 'bench.beat_tick', schedule: { every: everyMs }, args: [i] }));
    store.states.set(`e${i}`, { lastRunAtMs: firstSlotMs - everyMs, totalRunCount: 0 });
  }
  const lease = new SlotRecordingLease();

  // Lateness is taken when the broker has the message: beat's decision plus building and publishing it.
  const lateness: number[] = [];
  const sendsPerEntry = new Uint32Array(ENTRIES);
  let offGrid = 0;
  const sendTask = app.sendTask.bind(app);
  app.sendTask = (async (name: string, args: readonly unknown[] = [], kwargs = {}, options = {}) => {
    const result = await sendTask(name, args, kwargs, options);
    const i = args[0] as number;
    const slot = lease.claimed.get(`e${i}`);
    if (slot === undefined) throw new Error(`beat bench: entry e${i} was sent without a claim`);
    const { everyMs, firstSlotMs } = grid(i, t0);
    if ((slot - firstSlotMs) % everyMs !== 0) offGrid++;
    lateness.push(epochNow() - slot);
    sendsPerEntry[i] = (sendsPerEntry[i] ?? 0) + 1;
    return result;
  }) as typeof app.sendTask;

  const transport = await app.connection();
  let purged = 0;
  const beat = new Beat(app, { store, lease });
  const loopDelay = monitorEventLoopDelay({ resolution: 10 });
  try {
    const loadStarted = performance.now();
    await beat.start();
    const loadMs = performance.now() - loadStarted;
    if (Date.now() >= t0 + LEAD_MS) throw new Error(`loading took ${Math.round(loadMs)} ms, past the lead`);
    await sleep(t0 + LEAD_MS - Date.now());

    loopDelay.enable();
    const cpuStart = process.cpuUsage();
    const started = performance.now();
    const stopAt = started + durationMs;
    while (performance.now() < stopAt) {
      await sleep(Math.min(1000, stopAt - performance.now()));
      purged += await transport.purge(queue);
      ctx.progress.update(`beat: ${formatCount(lateness.length)} sends`);
    }
    const elapsed = performance.now() - started;
    const cpu = process.cpuUsage(cpuStart);
    loopDelay.disable();
    await beat.stop();
    purged += await transport.purge(queue);

    // Every slot due up to 100 ms before the stop must have been sent, once.
    const endMs = t0 + LEAD_MS + elapsed - 100;
    let expected = 0;
    let missing = 0;
    for (let i = 0; i < ENTRIES; i++) {
      const { everyMs, firstSlotMs } = grid(i, t0);
      const due = endMs >= firstSlotMs ? Math.floor((endMs - firstSlotMs) / everyMs) + 1 : 0;
      expected += due;
      missing += Math.max(0, due - (sendsPerEntry[i] ?? 0));
    }
    const n = lateness.length;
    if (missing > 0) throw new Error(`beat missed ${missing} of ${expected} due slots`);
    if (offGrid > 0) throw new Error(`beat sent ${offGrid} slots off the entries' interval grid`);
    if (purged !== n) throw new Error(`the broker got ${purged} messages for ${n} sends`);
    if (store.saves !== n) throw new Error(`beat saved state ${store.saves} times for ${n} sends`);

    lateness.sort((a, b) => a - b);
    const cpuUs = cpu.user + cpu.system;
    const details = {
      entries: ENTRIES,
      durationMs: Math.round(elapsed),
      loadMs: Math.round(loadMs),
      cpuPercent: Math.round((cpuUs / 1000 / elapsed) * 1000) / 10,
      cpuUsPerTask: Math.round(cpuUs / n),
      maxMs: round2(lateness[n - 1] ?? Number.NaN),
      loopDelayP99Ms: round2(loopDelay.percentile(99) / 1e6),
      loopDelayMaxMs: round2(loopDelay.max / 1e6),
      broker: 'memory',
    };
    const p99 = percentile(lateness, 99);
    return [
      {
        id: 'beat.sends',
        label: `beat sends (${formatCount(ENTRIES)} entries, memory broker)`,
        kind: 'rate',
        value: ratePerSecond(n, elapsed),
        n,
        details,
      },
      {
        id: 'beat.lateness.p50',
        label: 'beat lateness after due slot p50',
        kind: 'latency',
        value: percentile(lateness, 50),
        n,
        details,
      },
      {
        id: 'beat.lateness.p99',
        label: `beat lateness after due slot p99 (target ≤ ${TARGET_P99_MS} ms: ${p99 <= TARGET_P99_MS ? 'met' : 'MISSED'})`,
        kind: 'latency',
        value: p99,
        n,
        details: { ...details, target: `≤ ${TARGET_P99_MS} ms`, met: p99 <= TARGET_P99_MS },
      },
    ];
  } finally {
    loopDelay.disable();
    await beat.stop().catch(() => {});
    await app.close();
  }
}

function round2(value: number): number {
  return Math.round(value * 100) / 100;
}
