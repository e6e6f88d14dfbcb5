/**
 * Stores a result and announces it in one round trip, keeping SUCCESS sticky atomically.
 *
 * Python does GET, then `SETEX` + `PUBLISH` in a pipeline (`celery/backends/base.py`
 * `BaseKeyValueStoreBackend._store_result`, `celery/backends/redis.py` `RedisBackend.set`); the
 * read and the write are two trips there and can race. One script does both on the server.
 *
 * KEYS[1]  celery-task-meta-<task id> (also the PUBLISH channel)
 * ARGV[1]  the meta as JSON
 * ARGV[2]  lifetime in milliseconds, or '' to keep it forever (plain SET)
 * Returns  1 when stored and published, 0 when skipped because SUCCESS is already stored.
 */
export const STORE_RESULT_LUA = `
local current = redis.call('GET', KEYS[1])
if current then
  -- Celery and Celeriac both write "status" first; only decode the whole value when not.
  local status = string.match(current, '^%s*{%s*"status"%s*:%s*"([^"]*)"')
  if status == nil then
    local ok, decoded = pcall(cjson.decode, current)
    if ok and type(decoded) == 'table' then status = decoded['status'] end
  end
  if status == 'SUCCESS' then return 0 end
end
if ARGV[2] == '' then
  redis.call('SET', KEYS[1], ARGV[1])
else
  redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
end
redis.call('PUBLISH', KEYS[1], ARGV[1])
return 1
`;

/** The key (and channel) Celery uses for a task's result (`BaseKeyValueStoreBackend.task_keyprefix`). */
export function taskMetaKey(taskId: string): string {
  return `celery-task-meta-${taskId}`;
}

export const TASK_META_PREFIX = 'celery-task-meta-';
