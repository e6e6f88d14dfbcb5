import { Celeriac } from 'celeriac';
import { ensureParentDir, type SiteConfig } from './config.ts';
import { createMailer, InvalidFeedbackError, SmtpUnavailableError } from './mailer.ts';
import { feedbackSchema, renderFeedbackEmail } from './feedback.ts';

/**
 * The seed's `core/celery.py` + `app/tasks.py` in one module: the app (settings from the
 * environment, as `config_from_object(..., namespace='CELERY')`), its tasks and beat's schedule.
 * A factory, so embedded mode and tests can build apps with their own settings; `tasks.ts` builds
 * the one the CLI loads.
 */
export function createTasks(config: SiteConfig) {
  ensureParentDir(config.resultBackend);
  ensureParentDir(config.beatScheduleFile);
  const app = new Celeriac({
    broker: config.brokerUrl,
    backend: config.resultBackend,
    defaultQueue: config.taskQueue,
    // CELERY_TASK_TRACK_STARTED = True, and name/args stored with each result for the Tasks page.
    trackStarted: true,
    resultExtended: true,
    // Results stay a week: the Tasks page is the seed's django-celery-results table.
    resultExpires: '7d',
    // CELERY_BEAT_SCHEDULE = {"scheduled_task": {"task": "app.tasks.add", "schedule": 5.0, "args": (14, 15)}}
    beatSchedule: {
      scheduled_task: { task: 'tasks.add', schedule: { every: config.beatAddEvery }, args: [14, 15] },
    },
    beatScheduleFilename: config.beatScheduleFile,
  });

  /** 1. A simple task for understanding the mechanism: `add.delay(4, 1)`, `add.applyAsync([3, 3], {}, { countdown: 5 })`. */
  const add = app.task(
    'tasks.add',
    (x: number, y: number) => {
      if (typeof x !== 'number' || typeof y !== 'number') throw new TypeError('tasks.add takes two numbers');
      return x + y;
    },
    { params: ['x', 'y'] },
  );

  /** celery.py's `debug_task`: a bound task that sees its own request. */
  const debugTask = app.task(
    'tasks.debug_task',
    (ctx) => `Request: id=${ctx.id} name=${ctx.name} retries=${ctx.retries} hostname=${ctx.hostname}`,
    { bind: true },
  );

  const mailer = createMailer(config);

  /**
   * 2. The feedback email. The site validated the form and answered at once; here, in the worker:
   * check the fields again (anyone can send a message), render the email, hand it to SMTP.
   * While the SMTP server is down or answers 4xx the task retries with exponential back-off
   * (`autoretry_for` + `retry_backoff`); a 5xx or bad input fails it for good.
   */
  const sendFeedbackEmail = app.task(
    'tasks.send_feedback_email',
    async (name: string, email: string, message: string) => {
      const parsed = feedbackSchema.safeParse({ name, email, message });
      if (!parsed.success) {
        throw new InvalidFeedbackError(
          parsed.error.issues.map((i) => `${String(i.path[0])}: ${i.message}`).join('; '),
        );
      }
      const { subject, text } = renderFeedbackEmail(parsed.data);
      // Addresses go to nodemailer as objects: it encodes the display name, never splices raw text into headers.
      return mailer.send({ to: { name: parsed.data.name, address: parsed.data.email }, subject, text });
    },
    {
      params: ['name', 'email', 'message'],
      autoretryFor: [SmtpUnavailableError],
      retryBackoff: config.smtpRetryBackoff,
      retryBackoffMax: config.smtpRetryBackoffMax,
      // About a day of retries at the default 300 s cap: an SMTP outage must not lose feedback.
      maxRetries: 300,
      acksLate: true,
    },
  );

  return { app, add, debugTask, sendFeedbackEmail, mailer };
}

export type FeedbackTasks = ReturnType<typeof createTasks>;
