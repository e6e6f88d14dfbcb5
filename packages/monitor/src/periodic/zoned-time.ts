import { timeZoneOffsetAt as offsetAt } from 'celeriac';

/**
 * Wall times in a named zone, for the form's `clocked_time` and `expires`: a browser's
 * `datetime-local` input gives `2030-01-31T09:00` with no zone, which we read in the entry's
 * time zone field (as Django reads a naive datetime in TIME_ZONE).
 */
const WALL = /^(\d{4})-(\d{2})-(\d{2})[T ](\d{2}):(\d{2})(?::(\d{2})(?:\.\d+)?)?$/;
const ZONED = /(Z|[+-]\d{2}:?\d{2})$/i;

/** Epoch ms for `text`: an ISO time with Z or an offset as given, a wall time read in `timeZone`. */
export function instantOfWallTime(text: string, timeZone: string): number | undefined {
  if (ZONED.test(text)) {
    const ms = Date.parse(text);
    return Number.isFinite(ms) ? ms : undefined;
  }
  const m = WALL.exec(text);
  if (!m) return undefined;
  const [year, month, day, hour, minute, second] = m.slice(1).map((v) => Number(v ?? 0)) as number[];
  const local = Date.UTC(year!, month! - 1, day!, hour!, minute!, second!);
  const check = new Date(local);
  if (check.getUTCMonth() !== month! - 1 || check.getUTCDate() !== day! || hour! > 23 || minute! > 59)
    return undefined; // 2030-02-30 or 25:00
  // Two rounds settle the offset except inside a spring-forward gap, where the later side wins.
  let ms = local - offsetAt(local, timeZone);
  ms = local - offsetAt(ms, timeZone);
  return ms;
}

/** `2030-01-31T09:00` (or with seconds when there are some): the wall time in `timeZone`. */
export function wallTimeText(ms: number, timeZone: string): string {
  const text = new Date(ms + offsetAt(ms, timeZone)).toISOString();
  return text.slice(11, 19).endsWith(':00') ? text.slice(0, 16) : text.slice(0, 19);
}
