import { getTimes, type SunTimes } from 'suncalc';
import { ScheduleError } from '../errors.ts';
import type { Schedule, ScheduleJson } from './schedule.ts';

/**
 * Celery's solar event names (`celery/schedules.py` `solar`) mapped onto suncalc's times.
 * Horizons: astronomical -18°, nautical -12°, civil -6°, sunrise/sunset -0.833° (Celery's
 * ephem uses -0:34 with the sun's upper limb, the same point within seconds).
 */
const EVENTS = {
  dawn_astronomical: 'nightEnd',
  dawn_nautical: 'nauticalDawn',
  dawn_civil: 'dawn',
  sunrise: 'sunrise',
  solar_noon: 'solarNoon',
  sunset: 'sunset',
  dusk_civil: 'dusk',
  dusk_nautical: 'nauticalDusk',
  dusk_astronomical: 'night',
} as const satisfies Record<string, keyof SunTimes>;

export type SolarEvent = keyof typeof EVENTS;
export const SOLAR_EVENTS = Object.keys(EVENTS) as SolarEvent[];

const DAY_MS = 86_400_000;

/** Runs at a solar event at a place; near the poles an event may not occur for months (then none is due). */
export class SolarSchedule implements Schedule {
  readonly kind = 'solar';

  constructor(
    readonly event: SolarEvent,
    readonly latitude: number,
    readonly longitude: number,
  ) {
    if (!(event in EVENTS)) {
      throw new ScheduleError(
        `solar event ${JSON.stringify(event)} is not one of ${SOLAR_EVENTS.join(', ')}`,
      );
    }
    if (!(typeof latitude === 'number' && latitude >= -90 && latitude <= 90)) {
      throw new ScheduleError(`solar latitude ${JSON.stringify(latitude)} must be a number in -90..90`);
    }
    if (!(typeof longitude === 'number' && longitude >= -180 && longitude <= 180)) {
      throw new ScheduleError(`solar longitude ${JSON.stringify(longitude)} must be a number in -180..180`);
    }
  }

  nextAfter(afterMs: number): number | null {
    const key = EVENTS[this.event];
    // suncalc answers for the solar day nearest the given instant; ask at each local noon.
    const noonShift = DAY_MS / 2 - (this.longitude / 360) * DAY_MS;
    const firstDay = Math.floor(afterMs / DAY_MS) * DAY_MS - DAY_MS;
    for (let i = 0; i < 370; i++) {
      const at = getTimes(new Date(firstDay + i * DAY_MS + noonShift), this.latitude, this.longitude)[key];
      const t = at?.getTime();
      // Whole seconds (rounded up, so the answer stays after `afterMs`): slots compare cleanly.
      if (t !== undefined && Number.isFinite(t) && t > afterMs) return Math.ceil(t / 1000) * 1000;
    }
    return null;
  }

  firstRun(nowMs: number): number | null {
    return this.nextAfter(nowMs);
  }

  toJSON(): ScheduleJson {
    return { type: 'solar', event: this.event, latitude: this.latitude, longitude: this.longitude };
  }

  toString(): string {
    return `solar ${this.event} (${this.latitude}, ${this.longitude})`;
  }
}
