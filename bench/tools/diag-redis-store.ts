/**
 * What one stored result costs the Redis result backend, batched and not: stores N results from C
 * concurrent callers (as a worker's tasks finish) and prints results/s, the client's CPU per result
 * and redis-server's CPU per result (from INFO cpu, so other clients of the same Redis count too),
 * alternating `storeBatchSize` values so load drift hits each alike.
 *
 *   npx tsx bench/tools/diag-redis-store.ts [--n 30000] [--callers 50] [--batch 1,128] [--rounds 2]
 */
import { randomUUID } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import { Redis } from 'ioredis';
import { RedisBackend } from '../../packages/celeriac/src/backends/redis/redis-backend.ts';
import { utcNowIso } from '../../packages/celeriac/src/result/meta.ts';
import { silentLogger } from '../../packages/celeriac/src/util/logger.ts';

const { values } = parseArgs({
  options: {
    n: { type: 'string', default: '30000' },
    callers: { type: 'string', default: '50' },
    batch: { type: 'string', default: '1,128' },
    rounds: { type: 'string', default: '2' },
  },
});
const n = Number(values.n);
const callers = Number(values.callers);
const batches = values.batch.split(',').map(Number);
const redisUrl = process.env.BENCH_REDIS_URL ?? 'redis://127.0.0.1:6379/0';
const admin = new Redis(redisUrl);

async function redisCpuSeconds(): Promise<number> {
  const info = await admin.info('cpu');
  const field = (name: string) => Number(new RegExp(`${name}:([\\d.]+)`).exec(info)?.[1] ?? Number.NaN);
  return field('used_cpu_user') + field('used_cpu_sys');
}

for (let round = 1; round <= Number(values.rounds); round++) {
  for (const storeBatchSize of batches) {
    const backend = new RedisBackend(redisUrl, {
      logger: silentLogger,
      resultExpiresMs: 60_000,
      oid: 'diag',
      getBrokerTransport: () => Promise.reject(new Error('not used')),
      storeBatchSize,
    });
    await backend.connect();
    const ids = Array.from({ length: n }, () => randomUUID());
    let next = 0;
    const serverBefore = await redisCpuSeconds();
    const cpuBefore = process.cpuUsage();
    const started = performance.now();
    await Promise.all(
      Array.from({ length: callers }, async () => {
        while (next < n) {
          const taskId = ids[next++]!;
          await backend.store(
            {
              task_id: taskId,
              status: 'SUCCESS',
              result: null,
              traceback: null,
              children: [],
              date_done: utcNowIso(),
            },
            {},
          );
        }
      }),
    );
    const elapsedMs = performance.now() - started;
    const cpu = process.cpuUsage(cpuBefore);
    const serverUs = ((await redisCpuSeconds()) - serverBefore) * 1e6;
    await backend.close();
    for (let i = 0; i < n; i += 1000) {
      await admin.del(...ids.slice(i, i + 1000).map((id) => `celery-task-meta-${id}`));
    }
    console.log(
      `round ${round}, storeBatchSize ${String(storeBatchSize).padStart(4)}: ${Math.round((n * 1000) / elapsedMs)} results/s, ` +
        `client ${((cpu.user + cpu.system) / n).toFixed(1)} µs/result, redis-server ${(serverUs / n).toFixed(1)} µs/result`,
    );
  }
}
admin.disconnect();
