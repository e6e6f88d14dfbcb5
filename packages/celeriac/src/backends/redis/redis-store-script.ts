/**
 * Stores a batch of results and announces each in one round trip, keeping SUCCESS sticky atomically.
 *
 * Python does GET, then `SETEX` + `PUBLISH` in a pipeline per result (`celery/backends/base.py`
 * `BaseKeyValueStoreBackend._store_result`, `celery/backends/redis.py` `RedisBackend.set`); the
 * read and the write are two trips there and can race. One script does both on the server, for
 * every result a worker finished in the same event-loop turn (see redis-store-batch.ts).
 *
 * KEYS[i]      celery-task-meta-<task id> (also the PUBLISH channel), one per result, in order
 * ARGV[2i-1]   the i-th meta as JSON
 * ARGV[2i]     its lifetime in milliseconds, or '' to keep it forever (plain SET)
 * Returns      one entry per key: 1 stored and published, 0 skipped because SUCCESS is already
 *              stored, or a string: the error Redis gave for that key alone (others still stored).
 */
export const STORE_RESULTS_LUA = `
local function failed(reply) return type(reply) == 'table' and reply.err ~= nil end
local outcomes = {}
for i = 1, #KEYS do
  local key, json, ttl = KEYS[i], ARGV[2 * i - 1], ARGV[2 * i]
  local current = redis.pcall('GET', key)
  local status = nil
  if failed(current) then
    outcomes[i] = current.err
  elseif current then
    -- Celery and Celeriac both write "status" first; only decode the whole value when not.
    status = string.match(current, '^%s*{%s*"status"%s*:%s*"([^"]*)"')
    if status == nil then
      local ok, decoded = pcall(cjson.decode, current)
      if ok and type(decoded) == 'table' then status = decoded['status'] end
    end
  end
  if outcomes[i] == nil then
    if status == 'SUCCESS' then
      outcomes[i] = 0
    else
      local set
      if ttl == '' then set = redis.pcall('SET', key, json)
      else set = redis.pcall('SET', key, json, 'PX', ttl) end
      if failed(set) then
        outcomes[i] = set.err
      else
        redis.call('PUBLISH', key, json)
        outcomes[i] = 1
      end
    end
  end
end
return outcomes
`;

/** The key (and channel) Celery uses for a task's result (`BaseKeyValueStoreBackend.task_keyprefix`). */
export function taskMetaKey(taskId: string): string {
  return `celery-task-meta-${taskId}`;
}

export const TASK_META_PREFIX = 'celery-task-meta-';
