import type { Schedule } from '../schedules/schedule.ts';
import { parseRecord } from './lease.ts';

/**
 * The last recorded send when it already covers `slotMs`: the slot falls before the schedule's next
 * time after that send's slot. Beats each compute slots on their own grid (a beat started at :00.655
 * has slots at .655, another at .822); the fencing record alone stops only an equal or earlier slot,
 * so without this a new leader would run the entry a second time within one interval of the last run.
 */
export function coveringSend(
  schedule: Pick<Schedule, 'nextAfter'>,
  previous: string | undefined,
  slotMs: number,
): { slotMs: number; runAtMs: number } | undefined {
  const last = parseRecord(previous);
  if (!last || last.slotMs >= slotMs) return undefined;
  const next = schedule.nextAfter(last.slotMs);
  return next !== null && slotMs < next ? last : undefined;
}
