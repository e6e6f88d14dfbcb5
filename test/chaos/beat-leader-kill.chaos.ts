/**
 * The beat leader SIGKILLed, twice, with two `celeriac beat` processes sharing a lease: a Redis lease
 * (file scheduler + `--lease-url`) and an SQL lease (`-S db` on PostgreSQL). Missed runs are caught up
 * (`--missed-runs catch-up`), so over the window every 1 s period must be run exactly once:
 * messages in the queue = 1 s periods from the first slot sent to the last one recorded, no more (a
 * doubled run) and no fewer (a missed one), and every leader stays on the first one's slot grid. This
 * scenario found both with the Redis lease (a new leader's slots were on its own grid: it ran again
 * 0.8 s after the old leader's last run, or skipped a period); src/beat/lease/covered-slot.ts fixes it. Private Redis and PostgreSQL; the tasks go to a fresh
 * queue on the shared RabbitMQ, where they are counted.
 */
import type { ChildProcessWithoutNullStreams } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import amqplib from 'amqplib';
import { Redis } from 'ioredis';
import pg from 'pg';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { SqlScheduleStore } from '../../packages/celeriac/src/index.ts';
import { spawnCli } from '../../packages/celeriac/test/cli/run-cli.ts';
import { describeWith, SERVICES, uniqueName } from '../../packages/celeriac/test/helpers/services.ts';
import { pollUntil } from './chaos-helpers.ts';
import {
  startPrivatePostgres,
  startPrivateRedis,
  type PrivatePostgres,
  type PrivateRedis,
} from './private-services.ts';
import { hold } from './rabbitmq-restart-load.ts';
import { recordScenario } from './report.ts';

const APP = fileURLToPath(new URL('./beat-app.ts', import.meta.url));
const KILLS = 2;
const LEASE_SECONDS = 2;

/** Where the lease and the fencing record live, read the way the beats write them. */
interface LeaseView {
  kind: 'redis' | 'sql';
  args: string[];
  /** pid of the lease holder (holders are `host:pid:random`), or undefined when none holds it. */
  holderPid(): Promise<number | undefined>;
  /** The last slot recorded as sent for the `tick` entry. */
  lastSlot(): Promise<number | undefined>;
  close(): Promise<void>;
}

function pidOf(holder: string | null | undefined): number | undefined {
  const pid = holder ? Number(holder.split(':').at(-2)) : NaN;
  return Number.isInteger(pid) ? pid : undefined;
}

await describeWith(['rabbitmq'], 'beat leader SIGKILLed (Redis lease, SQL lease)', () => {
  const dir = mkdtempSync(join(tmpdir(), 'celeriac-chaos-beat-'));
  let redis: PrivateRedis;
  let postgres: PrivatePostgres;
  let amqp: amqplib.ChannelModel;
  let channel: amqplib.Channel;
  const children = new Set<ChildProcessWithoutNullStreams>();
  const queues: string[] = [];

  beforeAll(async () => {
    [redis, postgres] = await Promise.all([startPrivateRedis(), startPrivatePostgres()]);
    amqp = await amqplib.connect(SERVICES.rabbitmq.url);
    channel = await amqp.createChannel();
  }, 120_000);

  afterAll(async () => {
    for (const child of children) child.kill('SIGKILL');
    for (const queue of queues) {
      await channel.deleteQueue(queue).catch(() => undefined);
      await channel.deleteExchange(queue).catch(() => undefined);
    }
    await amqp?.close().catch(() => undefined);
    await Promise.all([redis?.stop(), postgres?.stop()]);
    rmSync(dir, { recursive: true, force: true });
  });

  function startBeat(args: string[], queue: string, n: number): ChildProcessWithoutNullStreams {
    const child = spawnCli(
      [
        '-A',
        APP,
        '-l',
        'info',
        'beat',
        '--lease-timeout',
        String(LEASE_SECONDS),
        '--max-interval',
        '1',
        '--missed-runs',
        'catch-up',
        ...args,
        '-s',
        join(dir, `${queue}-${n}.json`),
      ],
      { env: { BEAT_CHAOS_BROKER: SERVICES.rabbitmq.url, BEAT_CHAOS_QUEUE: queue } },
    );
    child.stdout.resume();
    child.stderr.resume();
    children.add(child);
    child.once('exit', () => children.delete(child));
    return child;
  }

  async function scenario(view: LeaseView): Promise<void> {
    const queue = uniqueName(`chaos-beat-${view.kind}`);
    queues.push(queue);
    await channel.assertExchange(queue, 'direct', { durable: true });
    await channel.assertQueue(queue, { durable: true });
    await channel.bindQueue(queue, queue, queue);
    const running = new Map<number, ChildProcessWithoutNullStreams>();
    let started = 0;
    const spawnOne = () => {
      const child = startBeat(view.args, queue, started++);
      running.set(child.pid!, child);
    };
    spawnOne();
    spawnOne();
    const firstSlot = await pollUntil(() => view.lastSlot(), 60_000, `the first ${view.kind}-lease send`, 20);
    const killed: number[] = [];
    for (let i = 0; i < KILLS; i++) {
      await hold(3_000);
      const leader = await pollUntil(
        async () => {
          const pid = await view.holderPid();
          return pid !== undefined && running.has(pid) && !killed.includes(pid) ? pid : undefined;
        },
        20_000,
        'a live leader',
      );
      running.get(leader)!.kill('SIGKILL');
      running.delete(leader);
      killed.push(leader);
      spawnOne(); // keep two beats: the survivor takes over, the newcomer waits
    }
    // Long enough for the last failover (lease lapse + catch-up) and a few ordinary slots after it.
    await hold(LEASE_SECONDS * 1000 + 4_000);
    // Clean stop: each beat finishes its send in progress and releases the lease.
    await Promise.all(
      [...running.values()].map(
        (child) =>
          new Promise<void>((resolve) => {
            child.once('exit', () => resolve());
            child.kill('SIGTERM');
          }),
      ),
    );
    const lastSlot = await view.lastSlot();
    if (lastSlot === undefined) throw new Error('no fencing record after the run');
    // Slots of the first beat's 1 s grid from the first send to the last; every beat must stay on it.
    const span = (lastSlot - firstSlot) / 1000;
    const slots = Math.floor(span + 1e-9) + 1;
    const { messageCount } = await channel.checkQueue(queue);
    recordScenario({
      id: `beat-leader-kill-${view.kind}`,
      scenario: `beat leader SIGKILLed, ${view.kind === 'redis' ? 'Redis lease (file scheduler)' : 'SQL lease (db scheduler, PostgreSQL)'}`,
      load: `2 beats, one entry every 1 s, --missed-runs catch-up, ${LEASE_SECONDS} s lease`,
      faults: `${KILLS} × SIGKILL of the lease holder (a new beat started each time)`,
      sent: slots,
      completed: Math.min(messageCount, slots),
      // per slot: more messages than slots is a doubled run, fewer a missed one
      duplicates: Math.max(0, messageCount - slots),
      lost: Math.max(0, slots - messageCount),
      notes:
        `${slots} slots from the first send to the last recorded, ${messageCount} task messages in the queue; ` +
        (Number.isInteger(span)
          ? 'every leader stayed on the first grid'
          : 'a new leader resumed on its own grid (a run up to one interval late, never a second run in one interval: lease/covered-slot.ts)'),
    });
    expect(Number.isInteger(span)).toBe(true);
    expect(slots).toBeGreaterThan(KILLS * 3);
    expect(messageCount).toBe(slots);
  }

  it('Redis lease: every slot sent exactly once across two leader kills', async () => {
    const client = new Redis(redis.url, { maxRetriesPerRequest: 2 });
    try {
      await scenario({
        kind: 'redis',
        args: ['--lease-url', `${redis.url}/0`],
        holderPid: async () => pidOf(await client.get('celeriac:beat:lock')),
        lastSlot: async () => {
          const record = await client.hget('celeriac:beat:sent', 'tick');
          const slot = record ? Number(record.split(':')[0]) : NaN;
          return Number.isFinite(slot) ? slot : undefined;
        },
        close: async () => client.disconnect(),
      });
    } finally {
      client.disconnect();
    }
  });

  it('SQL lease: every slot sent exactly once across two leader kills', async () => {
    const store = new SqlScheduleStore({ url: postgres.url });
    await store.upsert('tick', { task: 'chaos.beat.tick', schedule: { every: '1s' } });
    await store.close();
    const db = new pg.Client({ connectionString: postgres.url });
    await db.connect();
    try {
      await scenario({
        kind: 'sql',
        args: ['-S', 'db', '--db-url', postgres.url],
        holderPid: async () =>
          pidOf(
            (await db.query<{ holder: string }>('SELECT holder FROM celeriac_beat_lease')).rows[0]?.holder,
          ),
        lastSlot: async () => {
          const { rows } = await db.query<{ last_slot: string }>(
            "SELECT last_slot FROM celeriac_beat_sent WHERE entry = 'tick'",
          );
          const slot = Number(rows[0]?.last_slot);
          return Number.isFinite(slot) && slot > 0 ? slot : undefined;
        },
        close: () => db.end(),
      });
    } finally {
      await db.end();
    }
  });
});
