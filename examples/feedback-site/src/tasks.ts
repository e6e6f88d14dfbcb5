import { loadConfig } from './config.ts';
import { createTasks } from './create-tasks.ts';

/**
 * The module the CLI loads in distributed mode (the seed's `-A core`):
 * `celeriac worker -A examples/feedback-site/src/tasks.ts`, `celeriac beat -A examples/feedback-site/src/tasks.ts`.
 * Settings come from the environment (CELERIAC_BROKER_URL, CELERIAC_RESULT_BACKEND, SMTP_URL, …).
 */
export const { app, add, debugTask, sendFeedbackEmail } = createTasks(loadConfig());
