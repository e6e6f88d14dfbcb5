/**
 * The task module of the pool benchmark (bench/scenarios/pools.ts). The threads and processes
 * pools load it again in every thread or child (WorkerOptions.appModule), so it only registers
 * tasks: no connection opens until the worker (main thread) starts. Same work as bench/py/bench_pools.py.
 */
import crypto from 'node:crypto';
import { Celeriac } from '../../packages/celeriac/src/index.ts';

/**
 * sha256 chained over a 64-byte buffer, 5,000 times. The one-shot `crypto.hash` (Node >= 20.12) is
 * Node's counterpart of `hashlib.sha256(buf).digest()`: ~0.6 µs a call against `createHash`'s ~1 µs
 * (an object per call, and OpenSSL 3 looks the digest up each time), and hashlib's ~0.4 µs.
 * bench/scenarios/pools.ts measures both languages' task in-process beside the pool rows.
 */
export const HASH_ROUNDS = 5_000;

const sha256: (data: Buffer) => Buffer =
  typeof crypto.hash === 'function'
    ? (data) => crypto.hash('sha256', data, 'buffer')
    : (data) => crypto.createHash('sha256').update(data).digest();

export function chainedSha256(rounds: number): string {
  const buf = Buffer.alloc(64);
  for (let i = 0; i < rounds; i++) sha256(buf).copy(buf);
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
