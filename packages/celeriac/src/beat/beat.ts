import type { Celeriac } from '../app/celeriac.ts';
import type { ApplyOptions } from '../task/options.ts';
import type { Logger } from '../util/logger.ts';
import { fingerprint, nextDue, type BeatEntry, type EntryState } from './entry.ts';
import { BeatEntryError, ScheduleError } from './errors.ts';
import { lastSendToAdopt } from './lease/covered-slot.ts';
import { LocalLease } from './lease/local-lease.ts';
import type { BeatLease } from './lease/lease.ts';
import { ConfigFileStore } from './stores/config-file-store.ts';
import type { ScheduleStore } from './stores/store.ts';
import { describeSchedule } from './schedules/describe.ts';

export interface BeatOptions {
  /** Where entries and run state live. (Default: the app's `beatSchedule`, state in `beatScheduleFilename`) */
  store?: ScheduleStore;
  /** Leadership among several beats. (Default: `LocalLease`, for a single beat) */
  lease?: BeatLease;
  /** (Default: the app's logger) */
  logger?: Logger;
  /** The clock, for tests. (Default: Date.now) */
  now?: () => number;
  /** Longest sleep between ticks. (Default: the app's `beatMaxLoopInterval`, 300 s, as Celery) */
  maxLoopIntervalMs?: number;
  /**
   * Runs missed while no beat was running: `'once'` sends one run on the next check, as Celery;
   * `'catch-up'` sends every missed slot, up to `maxCatchUp` per entry. (Default: `'once'`)
   */
  missedRuns?: 'once' | 'catch-up';
  /** (Default: 100) */
  maxCatchUp?: number;
  /** Wait before retrying a store that could not be read or a send that failed. (Default: 5 s) */
  retryMs?: number;
}

/** One entry as `beat --list` shows it. */
export interface BeatEntryInfo {
  name: string;
  task: string;
  /** Short form: `crontab 30 8 * * mon (Europe/Berlin)`. */
  schedule: string;
  /** In plain words (`describeSchedule`): `every Monday at 08:30 (Europe/Berlin)`. */
  description: string;
  enabled: boolean;
  lastRunAt: Date | undefined;
  totalRunCount: number;
  nextRuns: Date[];
}

interface Runtime {
  entry: BeatEntry;
  state: EntryState;
  fp: string;
  due: number | null;
  retryAt: number;
}

/**
 * The scheduler: sends each entry's task when it is due. Several beats may run at once; the
 * lease lets one of them send, and its fencing record keeps every slot to a single send.
 *
 * @example
 * const beat = new Beat(app, { lease: new RedisLease({ redis: 'redis://127.0.0.1:6379/0' }) });
 * await beat.start();
 */
export class Beat {
  readonly store: ScheduleStore;
  readonly lease: BeatLease;
  private readonly logger: Logger;
  private readonly now: () => number;
  private readonly maxLoopIntervalMs: number;
  private readonly missedRuns: 'once' | 'catch-up';
  private readonly maxCatchUp: number;
  private readonly retryMs: number;
  private entries = new Map<string, Runtime>();
  private loaded = false;
  private nextReloadAt = 0;
  private nextRenewAt = 0;
  private leader = false;
  private running = false;
  /** Set by stop(): the tick under way sends no more entries (each could wait on the broker again). */
  private stopRequested = false;
  private loop: Promise<void> | undefined;
  private wake: (() => void) | undefined;
  private readonly warnedUnknown = new Set<string>();

  constructor(
    private readonly app: Celeriac,
    options: BeatOptions = {},
  ) {
    const conf = app.conf;
    this.store =
      options.store ??
      new ConfigFileStore({
        entries: conf.beatSchedule,
        file: conf.beatScheduleFilename,
        timezone: app.conf.timezone,
      });
    this.lease = options.lease ?? new LocalLease();
    this.logger = options.logger ?? app.logger;
    this.now = options.now ?? Date.now;
    this.maxLoopIntervalMs = options.maxLoopIntervalMs ?? conf.beatMaxLoopIntervalMs;
    this.missedRuns = options.missedRuns ?? 'once';
    this.maxCatchUp = options.maxCatchUp ?? 100;
    this.retryMs = options.retryMs ?? 5000;
  }

  /** True while this beat holds the lease and sends. */
  get isLeader(): boolean {
    return this.leader;
  }

  /** Loads the schedule (a bad entry throws here) and runs the loop until `stop()`. */
  async start(): Promise<void> {
    if (this.running) return;
    await this.reload(this.now(), true);
    this.running = true;
    this.stopRequested = false;
    this.logger.info({ store: this.store.description, lease: this.lease.description }, 'beat: starting');
    this.loop = this.run();
  }

  /** Stops the loop, gives up the lease and closes the store and the lease. */
  async stop(): Promise<void> {
    this.running = false;
    this.stopRequested = true;
    this.wake?.();
    await this.loop;
    this.loop = undefined;
    if (this.leader)
      await this.lease.release().catch((err) => this.logger.warn({ err }, 'beat: lease release failed'));
    this.leader = false;
    await this.store.close();
    await this.lease.close();
  }

  /** One pass: reload if due, renew the lease, send what is due. Resolves to the ms to wait before the next. */
  async tick(): Promise<number> {
    let now = this.now();
    if (!this.loaded || (this.store.reloadEveryMs !== undefined && now >= this.nextReloadAt))
      await this.reload(now);
    if (now >= this.nextRenewAt || !this.leader) await this.renew(now);
    if (this.leader) {
      const due = [...this.entries.values()]
        .filter((rt) => rt.due !== null && Math.max(rt.due, rt.retryAt) <= now)
        .sort((a, b) => a.due! - b.due!);
      for (const rt of due) {
        if (this.stopRequested) break;
        // Catch-up replays slot after slot; everything else sends once per tick.
        for (let i = 0; i < this.maxCatchUp && rt.due !== null && Math.max(rt.due, rt.retryAt) <= now; i++) {
          if ((await this.sendDue(rt, now)) === 'not-leader' || this.stopRequested) break;
          now = this.now();
        }
        if (!this.leader) break;
      }
    }
    return this.waitMs(this.now());
  }

  /** Each entry with its next `n` run times (`beat --list`). */
  async listEntries(n = 3): Promise<BeatEntryInfo[]> {
    if (!this.loaded) await this.reload(this.now(), true);
    return [...this.entries.values()]
      .sort((a, b) => a.entry.name.localeCompare(b.entry.name))
      .map((rt) => {
        const nextRuns: Date[] = [];
        for (let t = rt.due; t !== null && nextRuns.length < n; t = rt.entry.schedule.nextAfter(t)) {
          if (rt.entry.expiresAtMs !== undefined && t > rt.entry.expiresAtMs) break;
          nextRuns.push(new Date(t));
          if (rt.entry.oneOff) break;
        }
        return {
          name: rt.entry.name,
          task: rt.entry.task,
          schedule: String(rt.entry.schedule),
          description: describeSchedule(rt.entry.schedule),
          enabled: rt.entry.enabled && rt.state.enabled !== false,
          lastRunAt: rt.state.lastRunAtMs === undefined ? undefined : new Date(rt.state.lastRunAtMs),
          totalRunCount: rt.state.totalRunCount,
          nextRuns,
        };
      });
  }

  private async run(): Promise<void> {
    while (this.running) {
      let wait: number;
      try {
        wait = await this.tick();
      } catch (err) {
        this.logger.error({ err }, 'beat: tick failed; retrying');
        wait = this.retryMs;
      }
      if (!this.running) break;
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, Math.max(wait, 10));
        this.wake = () => {
          clearTimeout(timer);
          resolve();
        };
      });
      this.wake = undefined;
    }
  }

  private waitMs(now: number): number {
    let wait = this.maxLoopIntervalMs;
    // A follower polls often enough to take over soon after the lease lapses.
    if (Number.isFinite(this.lease.leaseMs))
      wait = Math.min(wait, this.leader ? this.nextRenewAt - now : this.lease.leaseMs / 10);
    if (this.store.reloadEveryMs !== undefined) wait = Math.min(wait, this.nextReloadAt - now);
    if (this.leader) {
      for (const rt of this.entries.values()) {
        if (rt.due !== null) wait = Math.min(wait, Math.max(rt.due, rt.retryAt) - now);
      }
    }
    return Math.max(0, wait);
  }

  private async renew(now: number): Promise<void> {
    const was = this.leader;
    try {
      this.leader = await this.lease.acquire();
    } catch (err) {
      // Unsure whether we still hold it: stop sending; the fencing record covers the rest.
      this.leader = false;
      this.logger.warn({ err }, 'beat: lease unreachable; not sending until it answers');
    }
    this.nextRenewAt = now + (Number.isFinite(this.lease.leaseMs) ? this.lease.leaseMs / 3 : Infinity);
    if (this.leader !== was) {
      this.logger.info(
        { holder: this.lease.holder },
        this.leader ? 'beat: took the lease; sending' : 'beat: lost the lease; standing by',
      );
    }
  }

  private async reload(now: number, strict = false): Promise<void> {
    let stored;
    try {
      stored = await this.store.load();
    } catch (err) {
      if (strict && (err instanceof BeatEntryError || err instanceof ScheduleError)) throw err;
      this.nextReloadAt = now + this.retryMs;
      this.logger.warn(
        { err, store: this.store.description },
        'beat: cannot read the schedule store; keeping the last schedule',
      );
      return;
    }
    const next = new Map<string, Runtime>();
    for (const { entry, state } of stored) {
      const fp = fingerprint(entry);
      const old = this.entries.get(entry.name);
      if (old && old.fp === fp && (state.lastSlotMs ?? -1) <= (old.state.lastSlotMs ?? -1)) {
        // Another beat's runs of a slot we adopted still count.
        if (state.totalRunCount > old.state.totalRunCount)
          old.state = { ...old.state, totalRunCount: state.totalRunCount };
        next.set(entry.name, old);
      } else {
        // New, edited, or run by another beat since we last looked: start from the stored state.
        const base = old && old.fp === fp ? { ...state } : state;
        next.set(entry.name, { entry, state: base, fp, due: nextDue(entry, base, now), retryAt: 0 });
      }
      if (!this.app.tasks.has(entry.task) && !this.warnedUnknown.has(entry.name)) {
        this.warnedUnknown.add(entry.name);
        this.logger.warn(
          { entry: entry.name, task: entry.task },
          'beat: task is not registered in this app; sending it anyway (a Python worker may run it)',
        );
      }
    }
    this.entries = next;
    this.loaded = true;
    this.nextReloadAt = now + (this.store.reloadEveryMs ?? Infinity);
  }

  private async sendDue(rt: Runtime, now: number): Promise<'sent' | 'skipped' | 'failed' | 'not-leader'> {
    const { entry } = rt;
    const slot = rt.due!;
    if (entry.expiresAtMs !== undefined && now > entry.expiresAtMs) {
      this.logger.info({ entry: entry.name }, 'beat: entry expired; not sending');
      rt.due = null;
      return 'skipped';
    }
    let claim;
    try {
      claim = await this.lease.claim(entry.name, slot, now);
    } catch (err) {
      this.logger.warn({ err, entry: entry.name }, 'beat: fencing check failed; not sending');
      rt.retryAt = now + this.retryMs;
      return 'failed';
    }
    if (!claim.ok && claim.reason === 'not-leader') {
      this.leader = false;
      this.logger.info('beat: lost the lease; standing by');
      return 'not-leader';
    }
    if (!claim.ok) {
      // Another beat (or we, before a restart) sent this slot: carry on from its record.
      this.advance(rt, claim.lastSlotMs, claim.lastRunAtMs);
      this.logger.debug(
        { entry: entry.name, slot: new Date(slot) },
        'beat: slot already sent by a beat; skipping',
      );
      return 'skipped';
    }
    const adopt = lastSendToAdopt(entry.schedule, claim.previous, slot, this.missedRuns === 'catch-up');
    if (adopt) {
      // A new leader on its own slot grid: continue the previous leader's instead (no doubled, no missed run).
      await this.lease.unclaim(entry.name, slot, claim.previous).catch(() => undefined);
      this.advance(rt, adopt.slotMs, adopt.runAtMs);
      return 'skipped';
    }
    try {
      await this.app.sendTask(entry.task, [...entry.args], { ...entry.kwargs }, this.sendOptions(entry));
    } catch (err) {
      await this.lease.unclaim(entry.name, slot, claim.previous).catch(() => undefined);
      // From now, not from the tick's start: a send can wait a long time for the broker.
      rt.retryAt = this.now() + this.retryMs;
      this.logger.error({ err, entry: entry.name, task: entry.task }, 'beat: send failed; retrying');
      return 'failed';
    }
    this.logger.info({ entry: entry.name, task: entry.task, slot: new Date(slot) }, 'beat: sent due task');
    rt.state = { ...rt.state, totalRunCount: rt.state.totalRunCount + 1 };
    this.advance(rt, slot, now);
    try {
      await this.store.saveState(entry.name, rt.state);
    } catch (err) {
      this.logger.warn(
        { err, entry: entry.name },
        'beat: could not save run state (the fencing record still has it)',
      );
    }
    return 'sent';
  }

  /** Moves an entry past a sent slot, by the missed-run policy. */
  private advance(rt: Runtime, slotMs: number, runAtMs: number): void {
    const { schedule } = rt.entry;
    // Keep the slot as the base while no later slot has passed, so intervals do not drift;
    // when several were missed, 'once' restarts from the send time, as Celery's last_run_at = now.
    const nextFromSlot = schedule.nextAfter(slotMs);
    const base =
      this.missedRuns === 'catch-up' || (nextFromSlot !== null && nextFromSlot > runAtMs) ? slotMs : runAtMs;
    rt.state = {
      ...rt.state,
      lastSlotMs: slotMs,
      lastRunAtMs: base,
      enabled: rt.entry.oneOff ? false : rt.state.enabled,
    };
    rt.retryAt = 0;
    rt.due = nextDue(rt.entry, rt.state, runAtMs);
  }

  private sendOptions(entry: BeatEntry): ApplyOptions {
    return entrySendOptions(entry);
  }
}

/** The options beat sends an entry's task with (the monitor's "run now" sends the same). */
export function entrySendOptions(entry: BeatEntry): ApplyOptions {
  const options: ApplyOptions = { ...entry.options };
  if (entry.expireSeconds !== undefined) options.expires = entry.expireSeconds;
  else if (entry.expiresAtMs !== undefined) options.expires = new Date(entry.expiresAtMs);
  return options;
}
