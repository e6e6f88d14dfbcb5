import { createServer } from 'node:http';
import { Worker } from 'celeriac';
import { app, add, flaky } from './tasks.ts';

/**
 * Everything in one process: the in-memory broker, a worker, and a page that sends `tasks.add`.
 * The full example site (feedback form, beat, monitor) is examples/feedback-site.
 */
const port = Number(process.env.PORT ?? 3000);
const worker = new Worker(app, { concurrency: 4 });
await worker.start();

const first = await add.delay(2, 2);
console.log(`tasks.add(2, 2) -> ${await first.get({ timeout: 5000 })}  (task ${first.id})`);
const retried = await flaky.delay('demo');
console.log(`tasks.flaky('demo') -> ${await retried.get({ timeout: 10_000 })}`);

const server = createServer(async (req, res) => {
  const url = new URL(req.url ?? '/', `http://${req.headers.host}`);
  if (url.pathname === '/add') {
    const x = Number(url.searchParams.get('x'));
    const y = Number(url.searchParams.get('y'));
    if (!Number.isFinite(x) || !Number.isFinite(y)) {
      res
        .writeHead(400, { 'content-type': 'application/json' })
        .end(JSON.stringify({ error: 'x and y must be numbers' }));
      return;
    }
    const result = await add.delay(x, y);
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ id: result.id, result: await result.get({ timeout: 5000 }) }));
    return;
  }
  res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' });
  res.end(`<!doctype html><title>Celeriac quickstart</title>
<h1>Celeriac quickstart</h1>
<form action="/add"><input name="x" value="4" size="4"> + <input name="y" value="1" size="4"> <button>add</button></form>
<p>The form sends <code>tasks.add</code> to the in-process worker and shows its stored result.</p>`);
});
server.listen(port, '127.0.0.1', () =>
  console.log(`Quickstart page: http://127.0.0.1:${port}/  (Ctrl-C stops)`),
);

for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, async () => {
    server.close();
    await worker.stop();
    await app.close();
    process.exit(0);
  });
}
