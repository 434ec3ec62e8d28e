import { createHash } from 'node:crypto';
import type { RedisSessionClient } from '../options.js';

/** A Lua script run with EVALSHA, falling back to EVAL when the server does not have it cached. */
export interface LuaScript {
  readonly source: string;
  readonly sha1: string;
}

function script(body: string): LuaScript {
  const source = `${PRELUDE}\n${body}`;
  return { source, sha1: createHash('sha1').update(source).digest('hex') };
}

/*
 * Every script takes the session's three keys, in this order:
 *   KEYS[1] items (LIST), KEYS[2] operations (HASH), KEYS[3] operationTimes (ZSET)
 * and ARGV[1] = the TTL in milliseconds, or 0 for no expiry.
 *
 * `touch` re-applies the sliding TTL to every key of the session (PEXPIRE is relative, so the
 * deadline is computed from the server's clock), or removes it when the writer has no TTL,
 * as the last write decides the expiry. `push` appends ARGV[from..to] in slices, because
 * `unpack` of more than ~8000 values overflows Lua's C stack.
 */
const PRELUDE = `
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

/** ARGV[2..]: the items to append. */
export const APPEND = script(`
push(KEYS[1], 2, #ARGV)
touch(tonumber(ARGV[1]))
return #ARGV - 1`);

/** Pops the newest item; slides the TTL only when something was removed. */
export const POP = script(`
local item = redis.call('RPOP', KEYS[1])
if item then touch(tonumber(ARGV[1])) end
return item`);

/** ARGV[2..]: the new history (possibly empty). Operation ids are kept, as in the reference. */
export const REPLACE_ALL = script(`
redis.call('DEL', KEYS[1])
push(KEYS[1], 2, #ARGV)
touch(tonumber(ARGV[1]))
return #ARGV - 1`);

/**
 * ARGV[2] retention (ms), ARGV[3] operation id, ARGV[4] fingerprint, ARGV[5] n = length of the
 * expected suffix, ARGV[6 .. 5+n] the expected suffix, ARGV[6+n ..] the replacement.
 * Returns core's `TransactionVerdict`: 'applied', 'replayed', 'operation_id_reused' or
 * 'suffix_mismatch'; only 'applied' changes anything. Items are canonical JSON text, so
 * comparing them is string equality.
 */
export const TRANSACTION = script(`
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
return 'applied'`);

/**
 * What `setup()` runs: nothing but a reply. Declaring a key under the store's prefix makes the
 * server check that this user may run scripts on those keys (every write is a script).
 */
export const PROBE = 'return 1';

/** Runs `lua` in one round trip once the server has it cached (EVALSHA), two the first time. */
export async function runScript(
  client: RedisSessionClient,
  lua: LuaScript,
  keys: string[],
  args: string[],
): Promise<unknown> {
  try {
    return await client.evalSha(lua.sha1, { keys, arguments: args });
  } catch (error) {
    // A fresh, restarted or failed-over server has an empty script cache.
    if (!(error instanceof Error && error.message.startsWith('NOSCRIPT'))) throw error;
    return await client.eval(lua.source, { keys, arguments: args });
  }
}
