import { randomUUID } from 'node:crypto';
import { hostname } from 'node:os';
import { Redis } from 'ioredis';
import { formatRecord, parseRecord, type BeatLease, type Claim } from './lease.ts';

export interface RedisLeaseOptions {
  /** `redis://host:6379/0`, or a connected ioredis client the lease may use (and will not close). */
  redis: string | Redis;
  /** Key prefix; the lease is `<prefix>:lock`, the fencing records `<prefix>:sent`. (Default: `celeriac:beat`) */
  keyPrefix?: string;
  /** (Default: 10 s) */
  leaseMs?: number;
}

// KEYS[1] lock; ARGV token, leaseMs. Takes the lock if free, renews it if ours. Returns 1 if held.
const ACQUIRE = `
local holder = redis.call('GET', KEYS[1])
if holder == ARGV[1] then redis.call('PEXPIRE', KEYS[1], ARGV[2]) return 1 end
if not holder then redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2]) return 1 end
return 0`;

// KEYS[1] lock, KEYS[2] sent-hash; ARGV token, entry, slotMs, record.
// Returns {0} not leader, {1, record} already sent (slot <= recorded), {2, previous or ''} claimed.
const CLAIM = `
if redis.call('GET', KEYS[1]) ~= ARGV[1] then return {0} end
local prev = redis.call('HGET', KEYS[2], ARGV[2])
if prev then
  local slot = tonumber(string.match(prev, '^(%d+):'))
  if slot and slot >= tonumber(ARGV[3]) then return {1, prev} end
end
redis.call('HSET', KEYS[2], ARGV[2], ARGV[4])
return {2, prev or ''}`;

// KEYS[1] sent-hash; ARGV entry, our record, previous ('' for none). Restores only if still ours.
const UNCLAIM = `
if redis.call('HGET', KEYS[1], ARGV[1]) ~= ARGV[2] then return 0 end
if ARGV[3] == '' then redis.call('HDEL', KEYS[1], ARGV[1]) else redis.call('HSET', KEYS[1], ARGV[1], ARGV[3]) end
return 1`;

// KEYS[1] lock; ARGV token.
const RELEASE = `if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end return 0`;

/**
 * A lease in Redis (`SET key token NX PX`, renewed by its holder, as celery-redbeat's
 * `redbeat::lock`) with the fencing records in a hash beside it. Each step is one Lua script,
 * so checking the lease and recording the slot cannot interleave with another beat.
 */
export class RedisLease implements BeatLease {
  readonly description: string;
  readonly leaseMs: number;
  readonly holder = `${hostname()}:${process.pid}:${randomUUID().slice(0, 8)}`;
  private readonly redis: Redis;
  private readonly ownsClient: boolean;
  private readonly lockKey: string;
  private readonly sentKey: string;
  private readonly claimed = new Map<string, string>();
  private connectionError: Error | undefined;

  constructor(options: RedisLeaseOptions) {
    const prefix = options.keyPrefix ?? 'celeriac:beat';
    this.lockKey = `${prefix}:lock`;
    this.sentKey = `${prefix}:sent`;
    this.leaseMs = options.leaseMs ?? 10_000;
    this.ownsClient = typeof options.redis === 'string';
    this.redis =
      typeof options.redis === 'string'
        ? new Redis(options.redis, { lazyConnect: true, maxRetriesPerRequest: 1, enableOfflineQueue: true })
        : options.redis;
    // A connection error also fails the command under way, but only as "max retries per request";
    // keep the socket's own error so the failure beat logs says why (and ioredis does not print
    // each retry as an "Unhandled error event").
    if (this.ownsClient) {
      this.redis.on('error', (err: Error) => (this.connectionError = err));
      this.redis.on('ready', () => (this.connectionError = undefined));
    }
    this.description = `redis:${prefix}`;
  }

  /** Runs a lease script; a failure caused by the connection names the connection's error. */
  private async evalScript(script: string, keyCount: number, ...args: string[]): Promise<unknown> {
    try {
      return await this.redis.eval(script, keyCount, ...args);
    } catch (err) {
      const cause = this.connectionError;
      if (!cause || this.redis.status === 'ready') throw err;
      throw new Error(`the lease's Redis is unreachable: ${cause.message}`, { cause: err });
    }
  }

  async acquire(): Promise<boolean> {
    return (await this.evalScript(ACQUIRE, 1, this.lockKey, this.holder, String(this.leaseMs))) === 1;
  }

  async claim(entryName: string, slotMs: number, runAtMs: number): Promise<Claim> {
    const record = formatRecord(slotMs, runAtMs);
    const [code, text] = (await this.evalScript(
      CLAIM,
      2,
      this.lockKey,
      this.sentKey,
      this.holder,
      entryName,
      String(Math.round(slotMs)),
      record,
    )) as [number, string?];
    if (code === 0) return { ok: false, reason: 'not-leader' };
    if (code === 1) {
      const prev = parseRecord(text)!;
      return { ok: false, reason: 'already-sent', lastSlotMs: prev.slotMs, lastRunAtMs: prev.runAtMs };
    }
    this.claimed.set(entryName, record);
    return { ok: true, previous: text || undefined };
  }

  async unclaim(entryName: string, _slotMs: number, previous: string | undefined): Promise<void> {
    const ours = this.claimed.get(entryName);
    if (ours === undefined) return;
    await this.evalScript(UNCLAIM, 1, this.sentKey, entryName, ours, previous ?? '');
  }

  async release(): Promise<void> {
    await this.evalScript(RELEASE, 1, this.lockKey, this.holder);
  }

  async close(): Promise<void> {
    if (this.ownsClient) this.redis.disconnect();
  }
}
