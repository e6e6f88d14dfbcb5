import type { AddressInfo } from 'node:net';
import { serve } from '@hono/node-server';
import { loadConfigOrExit } from './config.ts';
import { createTasks } from './create-tasks.ts';
import { createLogger } from './logger.ts';
import { SmtpCatcher } from './smtp-catcher.ts';
import { createSite } from './web/site.ts';

/**
 * Distributed mode, the web site alone (the seed's `manage.py runserver`): it sends tasks to the
 * broker in CELERIAC_BROKER_URL and reads results from CELERIAC_RESULT_BACKEND; `celeriac worker`
 * and `celeriac beat` run elsewhere. Without SMTP_URL it also runs the SMTP catcher the workers
 * send to (SMTP_CATCHER_PORT), so /outbox still shows the emails.
 */
const logger = createLogger('site');
const config = loadConfigOrExit();
const catcher = config.smtpUrl ? undefined : new SmtpCatcher(config.smtpCatcherPort);
await catcher?.start().catch((error: Error) => {
  console.error(`site: the SMTP catcher could not listen on ${config.smtpCatcherPort}: ${error.message}`);
  process.exit(1);
});
const tasks = createTasks(config);
tasks.app.configure({ logger });
const site = createSite({ config, tasks, mode: 'distributed', catcher });
const server = serve({ fetch: site.fetch, port: config.port, hostname: config.host }, () => {
  const { port } = server.address() as AddressInfo;
  console.log(
    `site: http://${config.host}:${port}/  (broker ${config.brokerUrl.replace(/:[^:@/]*@/, ':**@')})`,
  );
  if (catcher)
    console.log(`site: SMTP catcher on smtp://127.0.0.1:${catcher.listeningPort}, inbox at /outbox`);
});
server.once('error', (error: NodeJS.ErrnoException) => {
  console.error(`site: could not listen on ${config.host}:${config.port}: ${error.message}`);
  process.exit(1);
});

for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => {
    server.close();
    void Promise.all([tasks.app.close(), catcher?.stop()]).finally(() => process.exit(0));
  });
}
