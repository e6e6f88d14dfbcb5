/** The app the beat-leader-kill scenario's `celeriac beat` children load: one entry every second. */
import { Celeriac } from '../../packages/celeriac/src/index.ts';

export const app = new Celeriac({
  broker: process.env.BEAT_CHAOS_BROKER ?? 'memory://',
  defaultQueue: process.env.BEAT_CHAOS_QUEUE ?? 'celery',
  beatSchedule: { tick: { task: 'chaos.beat.tick', schedule: { every: '1s' } } },
});
