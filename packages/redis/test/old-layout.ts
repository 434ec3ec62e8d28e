/**
 * The key layout and write scripts of @sessions/redis 0.1 (before the catalog), copied from
 * that release's src/engine/scripts.ts as a fixture: three keys per session, no `meta` hash and
 * no catalog index. Tests write sessions this way, then open the current store on them.
 */
interface OldClient {
  eval(script: string, options: { keys: string[]; arguments: string[] }): Promise<unknown>;
}

const OLD_PRELUDE = `
local function touch(ttl)
  for i = 1, #KEYS do
    if ttl > 0 then redis.call('PEXPIRE', KEYS[i], ttl) else redis.call('PERSIST', KEYS[i]) end
  end
end
local function push(key, from, to)
  local i = from
  while i <= to do
    local j = math.min(i + 999, to)
    redis.call('RPUSH', key, unpack(ARGV, i, j))
    i = j + 1
  end
end`;

const OLD_APPEND = `${OLD_PRELUDE}
push(KEYS[1], 2, #ARGV)
touch(tonumber(ARGV[1]))
return #ARGV - 1`;

const OLD_TRANSACTION = `${OLD_PRELUDE}
local ttl = tonumber(ARGV[1])
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local cutoff = now - tonumber(ARGV[2])
local id = ARGV[3]
local at = redis.call('ZSCORE', KEYS[3], id)
if at and tonumber(at) > cutoff then
  if redis.call('HGET', KEYS[2], id) == ARGV[4] then return 'replayed' end
  return 'operation_id_reused'
end
local n = tonumber(ARGV[5])
local len = redis.call('LLEN', KEYS[1])
if n > len then return 'suffix_mismatch' end
if n > 0 then
  local tail = redis.call('LRANGE', KEYS[1], len - n, -1)
  for i = 1, n do
    if tail[i] ~= ARGV[5 + i] then return 'suffix_mismatch' end
  end
  if n == len then redis.call('DEL', KEYS[1]) else redis.call('LTRIM', KEYS[1], 0, len - n - 1) end
end
push(KEYS[1], 6 + n, #ARGV)
local expired = redis.call('ZRANGEBYSCORE', KEYS[3], '-inf', cutoff, 'LIMIT', 0, 100)
if #expired > 0 then
  redis.call('HDEL', KEYS[2], unpack(expired))
  redis.call('ZREM', KEYS[3], unpack(expired))
end
redis.call('HSET', KEYS[2], id, ARGV[4])
redis.call('ZADD', KEYS[3], now, id)
touch(ttl)
return 'applied'`;

/** `<prefix>:{<encodeURIComponent(id)>}:items|ops|optimes`, as 0.1 named them. */
export function oldKeys(prefix: string, sessionId: string): string[] {
  const base = `${prefix}:{${encodeURIComponent(sessionId)}}`;
  return [`${base}:items`, `${base}:ops`, `${base}:optimes`];
}

/** Appends canonical JSON texts the way 0.1's `addItems` did (ttlMs 0: no TTL). */
export function oldAppend(client: OldClient, prefix: string, sessionId: string, texts: string[], ttlMs = 0) {
  return client.eval(OLD_APPEND, { keys: oldKeys(prefix, sessionId), arguments: [String(ttlMs), ...texts] });
}

/** An `append_items` history transaction the way 0.1 recorded it; answers its verdict. */
export function oldAppendTransaction(
  client: OldClient,
  prefix: string,
  sessionId: string,
  operationId: string,
  fingerprint: string,
  texts: string[],
  ttlMs = 0,
) {
  return client.eval(OLD_TRANSACTION, {
    keys: oldKeys(prefix, sessionId),
    arguments: [String(ttlMs), String(24 * 3600 * 1000), operationId, fingerprint, '0', ...texts],
  });
}
