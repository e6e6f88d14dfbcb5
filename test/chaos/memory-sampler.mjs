// Preloaded into the soak's worker (`node --import`): appends the process's memory figures to
// $CHAOS_MEM_FILE once a second, from inside, so heap figures come with RSS. Plain JS: it runs
// before tsx is registered.
import { appendFileSync } from 'node:fs';
import { setInterval } from 'node:timers';

const file = process.env.CHAOS_MEM_FILE;
if (file) {
  const started = Date.now();
  setInterval(() => {
    const m = process.memoryUsage();
    const line = {
      t: (Date.now() - started) / 1000,
      at: Date.now(),
      rss: m.rss,
      heapUsed: m.heapUsed,
      heapTotal: m.heapTotal,
      external: m.external,
    };
    appendFileSync(file, `${JSON.stringify(line)}\n`);
  }, 1000).unref();
}
