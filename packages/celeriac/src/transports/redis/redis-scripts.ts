import { createHash } from 'node:crypto';

/** The slice of an ioredis client the scripts use. */
export interface ScriptClient {
  evalsha(sha: string, numKeys: number, ...args: string[]): Promise<unknown>;
  eval(script: string, numKeys: number, ...args: string[]): Promise<unknown>;
}

/** A Lua script run by EVALSHA, loaded with EVAL the first time a server does not know it. */
export class LuaScript {
  private readonly sha: string;
  constructor(private readonly source: string) {
    this.sha = createHash('sha1').update(source).digest('hex');
  }

  async run(client: ScriptClient, keys: readonly string[], args: readonly string[]): Promise<unknown> {
    try {
      return await client.evalsha(this.sha, keys.length, ...keys, ...args);
    } catch (error) {
      if (!String((error as Error).message).includes('NOSCRIPT')) throw error;
      return client.eval(this.source, keys.length, ...keys, ...args);
    }
  }
}

/**
 * Shared by FETCH and ADOPT: checks one envelope and records it as unacked exactly as kombu's
 * `QoS.append` does (kombu/transport/redis.py): ZADD unacked_index <now> <tag> and
 * HSET unacked <tag> [envelope, exchange, routing_key]. The envelope text is embedded verbatim.
 * An item that is not a kombu envelope is LPUSHed to its dead list instead.
 * Expects `n` (number of lists), KEYS[1] unacked, KEYS[2] unacked_index, KEYS[2+i] list i,
 * KEYS[2+n+i] dead list i, ARGV[2] now (epoch seconds), ARGV[3] '1' = no ack, ARGV[3+i] queue of list i.
 */
const TAKE = `
local function take(item, i)
  local ok, env = pcall(cjson.decode, item)
  local props = ok and type(env) == 'table' and env.properties
  local tag = type(props) == 'table' and props.delivery_tag
  if type(tag) ~= 'string' or tag == '' then
    redis.call('LPUSH', KEYS[2 + n + i], item)
    return false
  end
  if ARGV[3] == '1' then return true end
  local exchange, routing_key = '', ARGV[3 + i]
  local info = props.delivery_info
  if type(info) == 'table' then
    if type(info.exchange) == 'string' then exchange = info.exchange end
    if type(info.routing_key) == 'string' then routing_key = info.routing_key end
  end
  redis.call('ZADD', KEYS[2], ARGV[2], tag)
  redis.call('HSET', KEYS[1], tag, '[' .. item .. ', ' .. cjson.encode(exchange) .. ', ' .. cjson.encode(routing_key) .. ']')
  return true
end
`;

/**
 * FETCH: pops up to ARGV[1] envelopes, lists in the order given (priority order), and registers each
 * as unacked in the same atomic step, so a worker dying between pop and bookkeeping loses nothing
 * (kombu does BRPOP then a separate pipeline).
 * Returns a flat array {i, envelope, ...}: i > 0 for a delivered envelope from list i,
 * i < 0 for an item moved to dead list -i.
 */
export const FETCH = new LuaScript(`
local n = (#KEYS - 2) / 2
${TAKE}
local max = tonumber(ARGV[1])
local out = {}
local taken = 0
for i = 1, n do
  while taken < max do
    local items = redis.call('RPOP', KEYS[2 + i], max - taken)
    if not items then break end
    for _, item in ipairs(items) do
      taken = taken + 1
      if take(item, i) then out[#out + 1] = i else out[#out + 1] = -i end
      out[#out + 1] = item
    end
  end
  if taken >= max then break end
end
return out
`);

/**
 * ADOPT: the bookkeeping of FETCH for one envelope already popped by BRPOP (the wake-up message
 * after an idle wait). KEYS: unacked, unacked_index, list, dead list. ARGV: '1', now, no-ack flag,
 * queue, envelope. Returns 1 when delivered, 0 when moved to the dead list.
 */
export const ADOPT = new LuaScript(`
local n = 1
${TAKE}
if take(ARGV[5], 1) then return 1 else return 0 end
`);

/**
 * RESTORE: gives one unacked delivery back to its queues (kombu `QoS.restore_by_tag`). Where kombu
 * WATCHes `unacked`, this compares and sets atomically: nothing happens when the entry is gone
 * (acked or restored by another consumer), differs from what the caller read, or was refreshed by
 * its holder after the caller decided it was stale.
 * KEYS: [1] unacked, [2] unacked_index, [3..] target lists.
 * ARGV: [1] tag, [2] expected entry ('' = any), [3] highest stale score ('+inf' = any),
 *       [4] envelope to push, [5] 'L' = LPUSH (back of the queue), 'R' = RPUSH (delivered next).
 * Returns 1 when restored, 0 otherwise.
 */
export const RESTORE = new LuaScript(`
local current = redis.call('HGET', KEYS[1], ARGV[1])
if not current then
  redis.call('ZREM', KEYS[2], ARGV[1])
  return 0
end
if ARGV[2] ~= '' and current ~= ARGV[2] then return 0 end
if ARGV[3] ~= '+inf' then
  local score = redis.call('ZSCORE', KEYS[2], ARGV[1])
  if score and tonumber(score) > tonumber(ARGV[3]) then return 0 end
end
redis.call('ZREM', KEYS[2], ARGV[1])
redis.call('HDEL', KEYS[1], ARGV[1])
for i = 3, #KEYS do
  if ARGV[5] == 'L' then redis.call('LPUSH', KEYS[i], ARGV[4]) else redis.call('RPUSH', KEYS[i], ARGV[4]) end
end
return 1
`);

/**
 * DEAD_LETTER: moves one unacked delivery to its queue's dead list in one atomic step, so a crash can
 * neither lose it (out of `unacked`, not yet in the list) nor keep it twice (in both). LPUSH comes first:
 * if it fails (the dead key holds another type, out of memory), the script stops with the delivery still
 * unacked. Nothing is pushed when the entry is gone (acked, or restored to its queue by another consumer
 * after the visibility timeout): the message is then wherever that put it, and a copy would duplicate it.
 * KEYS: [1] unacked, [2] unacked_index, [3] dead list. ARGV: [1] tag, [2] envelope to keep.
 * Returns 1 when moved, 0 when the entry was gone.
 */
export const DEAD_LETTER = new LuaScript(`
if redis.call('HEXISTS', KEYS[1], ARGV[1]) == 0 then
  redis.call('ZREM', KEYS[2], ARGV[1])
  return 0
end
redis.call('LPUSH', KEYS[3], ARGV[2])
redis.call('ZREM', KEYS[2], ARGV[1])
redis.call('HDEL', KEYS[1], ARGV[1])
return 1
`);

/** RELEASE: deletes a lock only if we still own it (redis-py `Lock.release`). KEYS: lock. ARGV: token. */
export const RELEASE = new LuaScript(`
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
`);
