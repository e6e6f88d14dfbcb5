/**
 * The task module of the pool benchmark (bench/scenarios/pools.ts). The threads and processes
 * pools load it again in every thread or child (WorkerOptions.appModule), so it only registers
 * tasks: no connection opens until the worker (main thread) starts. Same work as bench/py/bench_pools.py.
 */
import { createHash } from 'node:crypto';
import { Celeriac } from '../../packages/celeriac/src/index.ts';

/**
 * sha256 chained over a 64-byte buffer. 5,000 rounds take ~15 ms in Node (createHash costs ~3 µs a
 * call) and ~6 ms in Python's hashlib on the bench machine: the work is identical, the per-call cost
 * is not.
 */
export const HASH_ROUNDS = 5_000;

export function chainedSha256(rounds: number): string {
  const buf = Buffer.alloc(64);
  for (let i = 0; i < rounds; i++) createHash('sha256').update(buf).digest().copy(buf);
  return buf.toString('hex', 0, 8);
}

export const app = new Celeriac({
  broker: process.env.BENCH_AMQP_URL ?? 'amqp://guest:guest@127.0.0.1:5672//',
});
app.task('bench.noop', () => undefined, { ignoreResult: true });
app.task('bench.hash', (rounds: number = HASH_ROUNDS) => chainedSha256(rounds), { ignoreResult: true });
// Holds its slot for a second: the RSS run keeps the prefetch window full while the queue is deep.
app.task('bench.sleep', () => new Promise<void>((resolve) => setTimeout(resolve, 1000)), {
  ignoreResult: true,
});
