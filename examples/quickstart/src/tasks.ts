import { Celeriac } from 'celeriac';

/** The app: memory:// unless CELERIAC_BROKER_URL / CELERIAC_RESULT_BACKEND say otherwise. */
export const app = new Celeriac({ backend: process.env.CELERIAC_RESULT_BACKEND ?? 'memory://' });

export const add = app.task('tasks.add', (x: number, y: number) => x + y, { params: ['x', 'y'] });

/** Fails twice, then succeeds: shows retries with a countdown. */
export const flaky = app.task(
  'tasks.flaky',
  async (ctx, label: string) => {
    if (ctx.retries < 2)
      return ctx.retry({ countdown: 1, exc: new Error(`attempt ${ctx.retries + 1} failed`) });
    return `${label} done after ${ctx.retries} retries`;
  },
  { bind: true, params: ['label'] },
);
