import { UnknownTimeZoneError } from './errors.ts';

/**
 * Wall-clock arithmetic over the runtime's IANA time-zone database (Intl). Crontab and the
 * schedule store think in local wall time; everything else in beat is UTC epoch milliseconds.
 */

/** A local calendar time (month 1-12). */
export interface WallTime {
  year: number;
  month: number;
  day: number;
  hour: number;
  minute: number;
}

const formatters = new Map<string, Intl.DateTimeFormat>();

function formatter(timeZone: string): Intl.DateTimeFormat {
  let f = formatters.get(timeZone);
  if (!f) {
    try {
      f = new Intl.DateTimeFormat('en-US', {
        timeZone,
        hourCycle: 'h23',
        year: 'numeric',
        month: 'numeric',
        day: 'numeric',
        hour: 'numeric',
        minute: 'numeric',
        second: 'numeric',
      });
    } catch (cause) {
      throw new UnknownTimeZoneError(timeZone, { cause });
    }
    formatters.set(timeZone, f);
  }
  return f;
}

/** Throws UnknownTimeZoneError unless the runtime knows `timeZone`; returns it for chaining. */
export function assertTimeZone(timeZone: string): string {
  formatter(timeZone);
  return timeZone;
}

/** The wall time shown by a clock in `timeZone` at instant `ms` (seconds dropped). */
export function toWallTime(ms: number, timeZone: string): WallTime {
  const parts: Record<string, number> = {};
  for (const p of formatter(timeZone).formatToParts(new Date(ms))) {
    if (p.type !== 'literal') parts[p.type] = Number(p.value);
  }
  return {
    year: parts.year!,
    month: parts.month!,
    day: parts.day!,
    hour: parts.hour!,
    minute: parts.minute!,
  };
}

/** UTC offset of `timeZone` at instant `ms`, in ms (Berlin in summer: +7_200_000). */
export function offsetAt(ms: number, timeZone: string): number {
  const minuteStart = Math.floor(ms / 60_000) * 60_000;
  const w = toWallTime(minuteStart, timeZone);
  return Date.UTC(w.year, w.month - 1, w.day, w.hour, w.minute) - minuteStart;
}

/** The wall time read as if it were UTC: the "local epoch" used for calendar arithmetic. */
export function wallToLocalEpoch(w: WallTime): number {
  return Date.UTC(w.year, w.month - 1, w.day, w.hour, w.minute);
}

/**
 * Every instant at which a clock in `timeZone` shows wall time `localEpoch`: one normally,
 * two in a fall-back overlap (earliest first), none in a spring-forward gap.
 */
export function instantsOf(localEpoch: number, timeZone: string): number[] {
  const offsets = new Set([
    offsetAt(localEpoch - 86_400_000, timeZone),
    offsetAt(localEpoch, timeZone),
    offsetAt(localEpoch + 86_400_000, timeZone),
  ]);
  const found: number[] = [];
  for (const o of offsets) {
    const t = localEpoch - o;
    if (offsetAt(t, timeZone) === o && !found.includes(t)) found.push(t);
  }
  return found.sort((a, b) => a - b);
}

/**
 * The instant a spring-forward gap ends, for a wall time inside it: the first instant whose wall
 * time is later than `localEpoch` (e.g. 02:30 on Berlin's spring day gives 03:00 CEST).
 */
export function gapEnd(localEpoch: number, timeZone: string): number {
  // Any instant in [lo, hi] shows a wall time on the far side of the gap at hi and before it at lo.
  let lo = localEpoch - offsetAt(localEpoch - 86_400_000, timeZone) - 86_400_000;
  let hi = localEpoch - offsetAt(localEpoch + 86_400_000, timeZone) + 86_400_000;
  lo = Math.floor(lo / 60_000);
  hi = Math.ceil(hi / 60_000);
  while (hi - lo > 1) {
    const mid = Math.floor((lo + hi) / 2);
    if (wallToLocalEpoch(toWallTime(mid * 60_000, timeZone)) > localEpoch) hi = mid;
    else lo = mid;
  }
  return hi * 60_000;
}
