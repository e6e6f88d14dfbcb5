import type { Schedule } from '../schedules/schedule.ts';
import { parseRecord } from './lease.ts';

/**
 * The last recorded send, when a beat about to send `slotMs` should continue from it instead.
 * Beats compute slots on their own grids (one started at :00.655 has slots at .655, another at .822),
 * and the fencing record alone stops only an equal or earlier slot, so a new leader would otherwise
 * - run the entry again less than one period after the old leader's last run (its slot falls before
 *   the schedule's next time after the recorded one: a doubled run), or
 * - with `catchUp` (`--missed-runs catch-up`), skip the periods between the recorded slot and its own
 *   (a missed run): continuing from the record sends them.
 */
export function lastSendToAdopt(
  schedule: Pick<Schedule, 'nextAfter'>,
  previous: string | undefined,
  slotMs: number,
  catchUp: boolean,
): { slotMs: number; runAtMs: number } | undefined {
  const last = parseRecord(previous);
  if (!last || last.slotMs >= slotMs) return undefined;
  const next = schedule.nextAfter(last.slotMs);
  if (next === null) return undefined;
  if (slotMs < next) return last;
  return catchUp && slotMs > next ? last : undefined;
}
