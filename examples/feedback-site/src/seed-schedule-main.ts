import { SqlScheduleStore } from 'celeriac';
import { loadConfigOrExit } from './config.ts';
import { createTasks } from './create-tasks.ts';
import { seedCodeSchedule } from './schedule-seed.ts';

/**
 * `npm run seed-schedule`: distributed mode's `manage.py migrate django_celery_beat` + the code's
 * CELERY_BEAT_SCHEDULE. Creates beat's tables in the SQL result database (CELERIAC_RESULT_BACKEND,
 * or CELERIAC_BEAT_DB_URL) and writes the code's periodic tasks into them, new or changed ones only,
 * so edits made on the monitor's Periodic tasks page survive. `celeriac beat -S db` then reads them.
 */
const config = loadConfigOrExit();
const url = process.env.CELERIAC_BEAT_DB_URL || config.resultBackend.split('?')[0]!;
if (!/^(sqlite|postgres|postgresql|mysql|mariadb):/i.test(url)) {
  console.error(
    `seed-schedule: ${url} is not an SQL database; set CELERIAC_RESULT_BACKEND (or CELERIAC_BEAT_DB_URL) to postgresql://…, mysql://… or sqlite:///…`,
  );
  process.exit(2);
}
const { app, mailer } = createTasks(config);
mailer.close();
const store = new SqlScheduleStore({ url, timezone: app.conf.timezone });
try {
  const outcomes = await seedCodeSchedule(store, app.conf.beatSchedule);
  for (const [name, outcome] of outcomes)
    console.log(`seed-schedule: ${name}: ${outcome} (${store.description})`);
} catch (error) {
  console.error(
    `seed-schedule: could not write the schedule to ${store.description}: ${(error as Error).message}`,
  );
  process.exitCode = 1;
} finally {
  await store.close();
  await app.close();
}
