import { spawn, type ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { RedisLease } from '../../src/beat/lease/redis-lease.ts';
import { describeWith, SERVICES, uniqueName } from '../helpers/services.ts';
import { leaseConformance } from './lease-conformance.ts';

const REDIS = `${SERVICES.redis.url}/0`;

await describeWith(['redis'], 'Redis lease: one sender among several beats', () => {
  let redis: Redis;
  const prefixes: string[] = [];
  const prefix = () => {
    const p = uniqueName('celeriac-test-beat');
    prefixes.push(p);
    return p;
  };

  beforeAll(() => {
    redis = new Redis(REDIS);
  });
  afterAll(async () => {
    for (const p of prefixes) await redis.del(`${p}:lock`, `${p}:sent`);
    redis.disconnect();
  });

  leaseConformance(async (leaseMs) => {
    const p = prefix();
    return [
      new RedisLease({ redis: REDIS, keyPrefix: p, leaseMs }),
      new RedisLease({ redis: REDIS, keyPrefix: p, leaseMs }),
    ];
  });

  it('two beat processes, leader killed: exactly one send per slot, takeover within one lease', async () => {
    const p = prefix();
    const leaseMs = 2000;
    const everyMs = 300;
    const child = fileURLToPath(new URL('./fixtures/beat-child.ts', import.meta.url));
    const sends: Array<{ pid: number; slot: string; time: number }> = [];
    const leaders: Array<{ pid: number; time: number }> = [];
    const spawnBeat = () =>
      new Promise<ChildProcess>((resolve, reject) => {
        const proc = spawn(
          process.execPath,
          ['--import', 'tsx', child, REDIS, p, String(leaseMs), String(everyMs)],
          {
            stdio: ['ignore', 'pipe', 'inherit'],
          },
        );
        proc.once('error', reject);
        createInterface({ input: proc.stdout! }).on('line', (line) => {
          let msg: { msg?: string; pid: number; slot?: string; time: number };
          try {
            msg = JSON.parse(line);
          } catch {
            return;
          }
          if (msg.msg === 'ready') resolve(proc);
          if (msg.msg === 'beat: sent due task')
            sends.push({ pid: msg.pid, slot: msg.slot!, time: msg.time });
          if (msg.msg === 'beat: took the lease; sending') leaders.push({ pid: msg.pid, time: msg.time });
        });
      });
    const first = await spawnBeat();
    const second = await spawnBeat();
    try {
      await new Promise((r) => setTimeout(r, 2500));
      const leader = leaders[0]!.pid === first.pid ? first : second;
      const follower = leader === first ? second : first;
      const killedAt = Date.now();
      leader.kill('SIGKILL');
      const deadline = Date.now() + 3 * leaseMs;
      while (!sends.some((s) => s.pid === follower.pid) && Date.now() < deadline)
        await new Promise((r) => setTimeout(r, 50));
      await new Promise((r) => setTimeout(r, 1500));
      follower.kill('SIGTERM');
      await new Promise((r) => follower.once('exit', r));

      const slots = sends.map((s) => s.slot);
      expect(new Set(slots).size).toBe(slots.length);
      // Two senders would interleave their slots closer than one interval.
      const times = slots.map((s) => Date.parse(s)).sort((x, y) => x - y);
      for (let i = 1; i < times.length; i++)
        expect(times[i]! - times[i - 1]!).toBeGreaterThanOrEqual(everyMs);
      const byOld = sends.filter((s) => s.pid === leader.pid);
      const byNew = sends.filter((s) => s.pid === follower.pid);
      expect(byOld.length).toBeGreaterThanOrEqual(3);
      expect(byNew.length).toBeGreaterThanOrEqual(3);
      // Every slot the new leader sent is later than every slot the old one sent.
      expect(Math.min(...byNew.map((s) => Date.parse(s.slot)))).toBeGreaterThan(
        Math.max(...byOld.map((s) => Date.parse(s.slot))),
      );
      const takeoverMs = byNew[0]!.time - killedAt;
      console.log(`beat takeover after the leader was killed: ${takeoverMs} ms (lease ${leaseMs} ms)`);
      expect(takeoverMs).toBeLessThanOrEqual(leaseMs + leaseMs / 10 + everyMs + 300);
    } finally {
      first.kill('SIGKILL');
      second.kill('SIGKILL');
    }
  }, 25_000);
});
