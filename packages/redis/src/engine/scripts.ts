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
 * Session scripts take the session's four keys, in this order:
 *   KEYS[1] items (LIST), KEYS[2] operations (HASH), KEYS[3] operationTimes (ZSET), KEYS[4] meta (HASH)
 * and on a standalone server also the catalog: KEYS[5] order (ZSET), KEYS[6] at (HASH), so that
 * the listing moves in the same atomic step. A Cluster keeps the catalog in another slot; there
 * the caller sends the catalog script in the same round trip instead (see engine/catalog.ts).
 * ARGV[1] = the TTL in milliseconds (0: none), ARGV[2] = now (ms, the writer's clock: the
 * catalog write of a Cluster is sent before the reply, so both must know the time up front),
 * ARGV[3] = the session id, then the script's own arguments.
 *
 * Every write script answers { updatedAt, result }: updatedAt is 0 when it changed nothing.
 *
 * `touch` re-applies the sliding TTL to every key of the session (PEXPIRE is relative, so the
 * deadline is computed from the server's clock), or removes it when the writer has no TTL,
 * as the last write decides the expiry. `push` appends ARGV[from..to] in slices, because
 * `unpack` of more than ~8000 values overflows Lua's C stack. `stamp` creates the catalog entry
 * or moves its updatedAt forward (never back: writers' clocks may differ a little).
 */
const PRELUDE = `
local function int(n) return string.format('%d', n) end
local function member(t, id) return string.format('%016d', 9000000000000000 - t) .. ':' .. id end
local function reindex(order, at, mode, id, t, seen)
  local old = redis.call('HGET', at, id)
  if mode == 'fix' then
    if old ~= seen then return 0 end
  elseif mode == 'xx' and not old then
    return 0
  elseif (mode == 'add' or mode == 'xx') and old and tonumber(old) >= t then
    return 1
  end
  if old then redis.call('ZREM', order, member(tonumber(old), id)) end
  if mode == 'del' or t < 0 then
    redis.call('HDEL', at, id)
  else
    redis.call('ZADD', order, 0, member(t, id))
    redis.call('HSET', at, id, int(t))
  end
  return 1
end
local function touch(ttl)
  for i = 1, 4 do
    if ttl > 0 then redis.call('PEXPIRE', KEYS[i], ttl) else redis.call('PERSIST', KEYS[i]) end
  end
end
local function stamp()
  local now = tonumber(ARGV[2])
  local u = redis.call('HGET', KEYS[4], 'u')
  if u then
    u = tonumber(u)
    if now > u then
      u = now
      redis.call('HSET', KEYS[4], 'u', int(u))
    end
  else
    u = now
    redis.call('HSET', KEYS[4], 'c', int(u), 'u', int(u), 'v', '0')
  end
  if #KEYS >= 6 then reindex(KEYS[5], KEYS[6], 'add', ARGV[3], u) end
  touch(tonumber(ARGV[1]))
  return u
end
local function push(key, from, to)
  local i = from
  while i <= to do
    local j = math.min(i + 999, to)
    redis.call('RPUSH', key, unpack(ARGV, i, j))
    i = j + 1
  end
end`;

/** ARGV[4..]: the items to append. */
export const APPEND = script(`
push(KEYS[1], 4, #ARGV)
return { stamp(), #ARGV - 3 }`);

/** Pops the newest item; a write (TTL, updatedAt) only when something was removed. */
export const POP = script(`
local item = redis.call('RPOP', KEYS[1])
if item then return { stamp(), item } end
return { 0 }`);

/** ARGV[4..]: the new history (possibly empty). Operation ids are kept, as in the reference. */
export const REPLACE_ALL = script(`
redis.call('DEL', KEYS[1])
push(KEYS[1], 4, #ARGV)
return { stamp(), #ARGV - 3 }`);

/**
 * Empties the history and forgets operation ids; the catalog entry (metadata, createdAt) stays.
 * A session without an entry and without items (nothing to clear) stays without one.
 */
export const CLEAR = script(`
local listed = redis.call('EXISTS', KEYS[1], KEYS[4]) > 0
redis.call('DEL', KEYS[1], KEYS[2], KEYS[3])
if not listed then return { 0 } end
return { stamp(), 1 }`);

/**
 * ARGV[4] retention (ms), ARGV[5] operation id, ARGV[6] fingerprint, ARGV[7] n = length of the
 * expected suffix, ARGV[8 .. 7+n] the expected suffix, ARGV[8+n ..] the replacement.
 * Answers core's `TransactionVerdict`: 'applied', 'replayed', 'operation_id_reused' or
 * 'suffix_mismatch'; only 'applied' changes anything. Items are canonical JSON text, so
 * comparing them is string equality. Operation ids are recorded with the server's clock (the
 * retention window must not depend on which writer's clock is ahead).
 */
export const TRANSACTION = script(`
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local cutoff = now - tonumber(ARGV[4])
local id = ARGV[5]
local at = redis.call('ZSCORE', KEYS[3], id)
if at and tonumber(at) > cutoff then
  if redis.call('HGET', KEYS[2], id) == ARGV[6] then return { 0, 'replayed' } end
  return { 0, 'operation_id_reused' }
end
local n = tonumber(ARGV[7])
local len = redis.call('LLEN', KEYS[1])
if n > len then return { 0, 'suffix_mismatch' } end
if n > 0 then
  local tail = redis.call('LRANGE', KEYS[1], len - n, -1)
  for i = 1, n do
    if tail[i] ~= ARGV[7 + i] then return { 0, 'suffix_mismatch' } end
  end
  if n == len then redis.call('DEL', KEYS[1]) else redis.call('LTRIM', KEYS[1], 0, len - n - 1) end
end
push(KEYS[1], 8 + n, #ARGV)
local expired = redis.call('ZRANGEBYSCORE', KEYS[3], '-inf', cutoff, 'LIMIT', 0, 100)
if #expired > 0 then
  redis.call('HDEL', KEYS[2], unpack(expired))
  redis.call('ZREM', KEYS[3], unpack(expired))
end
redis.call('HSET', KEYS[2], id, ARGV[6])
redis.call('ZADD', KEYS[3], now, id)
return { stamp(), 'applied' }`);

/**
 * Compare-and-set of the metadata: ARGV[4] the version read, ARGV[5] the new canonical JSON.
 * Answers { updatedAt, 1 } when stored as version + 1, { 0, 0 } when another writer got there first.
 */
export const WRITE_METADATA = script(`
local version = tonumber(redis.call('HGET', KEYS[4], 'v') or '0')
if version ~= tonumber(ARGV[4]) then return { 0, 0 } end
local u = stamp()
redis.call('HSET', KEYS[4], 'm', ARGV[5], 'v', int(version + 1))
return { u, 1 }`);

/** Removes every key of the session, and on a standalone server its catalog entry. */
export const DELETE = script(`
redis.call('DEL', KEYS[1], KEYS[2], KEYS[3], KEYS[4])
if #KEYS >= 6 then reindex(KEYS[5], KEYS[6], 'del', ARGV[3], 0) end
return { 0 }`);

/**
 * The catalog entry of one session. KEYS[1] items, KEYS[2] meta; ARGV[1] now (ms).
 * Answers nil when the session has no entry, else
 * { createdAt, updatedAt, metadata JSON, LLEN items, PTTL meta, server time ms, upgraded }.
 * A session written by a release before the catalog (items, no meta) gets its entry here, dated
 * now and expiring with its items; `upgraded` = 1 tells the caller to index it.
 */
export const READ_INFO = script(`
local h = redis.call('HMGET', KEYS[2], 'c', 'u', 'm')
local upgraded = 0
if not h[2] then
  if redis.call('EXISTS', KEYS[1]) == 0 then return nil end
  redis.call('HSET', KEYS[2], 'c', ARGV[1], 'u', ARGV[1], 'v', '0')
  local ttl = redis.call('PTTL', KEYS[1])
  if ttl > 0 then redis.call('PEXPIRE', KEYS[2], ttl) end
  h = { ARGV[1], ARGV[1], false }
  upgraded = 1
end
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
return { h[1], h[2], h[3] or '', redis.call('LLEN', KEYS[1]), redis.call('PTTL', KEYS[2]), int(now), upgraded }`);

/** KEYS[1] meta: { metadata JSON or nil, version or nil } (nil, nil: no entry yet). */
export const READ_METADATA = script(`
return redis.call('HMGET', KEYS[1], 'm', 'v')`);

/**
 * The catalog's own script (KEYS[1] order, KEYS[2] at): ARGV[1] mode, ARGV[2] session id,
 * ARGV[3] updatedAt ms (-1 with 'fix': remove), ARGV[4] with 'fix': the updatedAt last seen.
 *   add  index at updatedAt unless already at or after it
 *   xx   the same, only if indexed (answers 0 when not: the caller adds it if the session exists)
 *   del  remove
 *   fix  set to updatedAt (or remove) only if still at the value seen (read repair must not undo a writer)
 */
export const INDEX = script(`
return reindex(KEYS[1], KEYS[2], ARGV[1], ARGV[2], tonumber(ARGV[3]), ARGV[4])`);

/** KEYS[1] order: members in [ARGV[1], ARGV[2]] (ZRANGEBYLEX bounds), at most ARGV[3]. */
export const RANGE = script(`
return redis.call('ZRANGEBYLEX', KEYS[1], ARGV[1], ARGV[2], 'LIMIT', 0, tonumber(ARGV[3]))`);

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
