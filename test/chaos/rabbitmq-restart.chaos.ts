/**
 * RabbitMQ restarted twice (`rabbitmqctl stop_app` / `start_app`, 3 s down each) while three
 * producers call `sendTask` at a steady rate and an acksLate worker runs the tasks. On a private node:
 * the shared broker other tests use is never touched.
 *
 * Proves: every call settles, either resolved after the broker's confirm or rejected with an error
 * the caller sees (both counted); every resolved task runs at least once (duplicates counted); the
 * worker and the producers reconnect by themselves (calls made after the last restart resolve and run).
 */
import { Redis } from 'ioredis';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { Celeriac } from '../../packages/celeriac/src/app/celeriac.ts';
import { Worker } from '../../packages/celeriac/src/worker/worker.ts';
import { describeWith, SERVICES, uniqueName } from '../../packages/celeriac/test/helpers/services.ts';
import { pollUntil, tally } from './chaos-helpers.ts';
import { startPrivateRabbitMQ, type PrivateRabbitMQ } from './private-services.ts';
import { hold, ProducerLoad, registerRecorder } from './rabbitmq-restart-load.ts';
import { recordScenario } from './report.ts';

const PRODUCERS = 3;
const PER_SECOND = 60;
const OUTAGE_MS = 3_000;
const RESTARTS = 2;
/** Reconnect fast: the default back-off (up to 30 s) is right in production, too slow for a test. */
const brokerOptions = { reconnectInitialDelayMs: 100, reconnectMaxDelayMs: 1_000 };

await describeWith(['redis'], 'RabbitMQ stop_app/start_app under load (acksLate)', () => {
  const queue = uniqueName('chaos-rabbitmq-restart');
  const runsKey = `${queue}:runs`;
  const counter = new Redis(SERVICES.redis.url, { maxRetriesPerRequest: 3 });
  let rabbit: PrivateRabbitMQ;
  let workerApp: Celeriac;
  let worker: Worker;
  const producers: Celeriac[] = [];

  beforeAll(async () => {
    rabbit = await startPrivateRabbitMQ();
    workerApp = new Celeriac({ broker: rabbit.url, defaultQueue: queue, acksLate: true, brokerOptions });
    registerRecorder(workerApp, counter, runsKey);
    for (let i = 0; i < PRODUCERS; i++)
      producers.push(new Celeriac({ broker: rabbit.url, defaultQueue: queue, brokerOptions }));
    worker = new Worker(workerApp, { queues: [queue], concurrency: 8 });
    await worker.start();
  }, 120_000);

  afterAll(async () => {
    await worker?.stop({ graceful: false }).catch(() => undefined);
    for (const app of producers) await app.close().catch(() => undefined);
    await workerApp?.close().catch(() => undefined);
    await rabbit?.stop();
    await counter.del(runsKey).catch(() => undefined);
    counter.disconnect();
  });

  it('every call resolves or rejects visibly, every resolved task runs, both sides reconnect', async () => {
    const load = new ProducerLoad(producers, PER_SECOND);
    load.start();
    let lastStartAt = 0;
    try {
      for (let i = 0; i < RESTARTS; i++) {
        await hold(4_000);
        await rabbit.stopApp();
        await hold(OUTAGE_MS);
        await rabbit.startApp();
        lastStartAt = Date.now();
      }
      await hold(4_000);
    } finally {
      load.stop();
    }
    // Every call settles: none hangs forever (a publish waits at most publishTimeoutMs for the broker).
    await pollUntil(() => load.pending === 0, 30_000, 'every sendTask call to settle');
    const resolvedIds = load.resolved.map((r) => r.id);
    await pollUntil(
      async () => (await tally(counter, runsKey, resolvedIds)).lost === 0,
      60_000,
      'every resolved task to run',
    ).catch(() => undefined); // the assertions below say what is missing
    const t = await tally(counter, runsKey, resolvedIds);
    const runs = await counter.hgetall(runsKey);
    const rejectedButRan = load.rejected.filter((r) => runs[r.id] !== undefined).length;
    const afterRestart = load.resolved.filter((r) => r.calledAt > lastStartAt);

    recordScenario({
      id: 'rabbitmq-restart',
      scenario: 'RabbitMQ stop_app/start_app while producers and an acksLate worker are busy',
      load: `${PRODUCERS} producers × ${PER_SECOND} calls/s, 1 worker (async pool, concurrency 8, acksLate)`,
      faults: `${RESTARTS} × stop_app for ${OUTAGE_MS / 1000} s, then start_app`,
      sent: load.resolved.length,
      completed: t.completed,
      duplicates: t.duplicates,
      lost: t.lost,
      notes:
        `${load.calls} calls: ${load.resolved.length} resolved after a confirm, ${load.rejected.length} rejected ` +
        `with an error the caller saw (${rejectedButRan} of those ran anyway: published, confirm lost)` +
        (load.rejected.length > 0 ? `; errors: ${load.errorSummary()}` : ''),
    });

    expect(load.pending).toBe(0);
    expect(t.unexpected).toBe(rejectedButRan); // runs of unknown ids are exactly the rejected-but-sent ones
    expect(t.lost).toBe(0);
    // Both sides came back by themselves: calls made after the last restart were confirmed and ran.
    expect(afterRestart.length).toBeGreaterThan(PRODUCERS * PER_SECOND);
    expect(afterRestart.every((r) => runs[r.id] !== undefined)).toBe(true);
  });
});
