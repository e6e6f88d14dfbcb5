import { loadConfigOrExit } from './config.ts';
import { startEmbedded } from './embedded.ts';
import { createLogger } from './logger.ts';

/**
 * `npm start`: embedded mode. Site, worker, beat and the SMTP catcher in one process, on the
 * in-memory broker with results in SQLite. Distributed mode runs them apart: see README.md.
 */
const logger = createLogger('feedback-site');
const config = loadConfigOrExit();
const site = await startEmbedded(config, logger).catch((error: NodeJS.ErrnoException) => {
  const hint =
    error.code === 'EADDRINUSE'
      ? ' (set PORT, or SMTP_CATCHER_PORT for the SMTP catcher, to a free port)'
      : '';
  console.error(`feedback-site: could not start: ${error.message}${hint}`);
  process.exit(1);
});

const lines = [
  '',
  'Celeriac feedback site (embedded mode: site + worker + beat + monitor + SMTP catcher in one process)',
  `  Site:     ${site.url}/`,
  `  Add:      ${site.url}/add`,
  `  Feedback: ${site.url}/feedback`,
  `  Tasks:    ${site.url}/tasks`,
  site.catcher
    ? `  Outbox:   ${site.url}/outbox   (SMTP catcher on smtp://127.0.0.1:${site.catcher.listeningPort})`
    : `  Email:    through SMTP_URL`,
  `  Monitor:  ${site.monitorUrl}   (${site.monitor.login ? 'log in as MONITOR_USER' : 'NO LOG-IN: loopback only; set MONITOR_USER and MONITOR_PASSWORD'})`,
  `  Broker:   ${site.config.brokerUrl}   Results: ${site.config.resultBackend}`,
  `  Beat:     tasks.add(14, 15) every ${site.config.beatAddEvery}   (schedule: ${site.beat.store.description})`,
  `  Periodic: ${site.monitorUrl}/periodic   (add and edit periodic tasks; beat picks them up within 5 s)`,
  '',
  'Ctrl-C stops.',
  '',
];
console.log(lines.join('\n'));

for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => {
    console.log(`\n${signal}: stopping (running tasks finish first)…`);
    site.stop().then(
      () => process.exit(0),
      (error: Error) => {
        console.error(error);
        process.exit(1);
      },
    );
  });
}
