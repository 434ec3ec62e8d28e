import { CLOCK, CLOCK_CTE, countedItems, expiry, liveStartAt, reserveSql, split } from './fragments.js';
import type { Tables } from './identifiers.js';

/**
 * The write statements of `addItems`, `popItem`, `clearSession` and compaction. Every writer
 * holds the session row lock before it touches items: one lock order everywhere, so no deadlocks.
 * Each one sets the catalog's `item_count` and `updated_at` in the statement that changes the items.
 */
export function writeStatements(t: Tables) {
  return {
    /**
     * `addItems` in one statement: reserve the range, delete what an expiry left behind (only
     * when the history is this batch alone, i.e. new or just reset), insert the batch from ONE
     * text parameter split with `unnest(string_to_array(...)) WITH ORDINALITY`.
     * `$1` id, `$2` joined items, `$3` ttl, `$4` item count.
     */
    append: `WITH up AS (
${reserveSql(t, '$4', '$3', { add: '$4' })}
),
fresh AS (SELECT start_seq FROM up WHERE start_seq = next_seq - $4::bigint),
dead_items AS (DELETE FROM ${t.items} WHERE session_id = $1::text AND seq < (SELECT start_seq FROM fresh)),
dead_ops AS (DELETE FROM ${t.operations} WHERE session_id = $1::text AND epoch < (SELECT start_seq FROM fresh)),
inserted AS (
  INSERT INTO ${t.items} (session_id, seq, item)
  SELECT $1::text, up.next_seq - $4::bigint + b.ord - 1, b.item
  FROM up, ${split('$2')}
)
SELECT 1 AS ok`,

    /**
     * A further chunk of a batch too big for one statement, in the transaction whose first chunk
     * ran `append` (so the row is locked and the history decided): reserve the next range, slide
     * the expiry, insert. It never judges expiry: the clock moves on while the chunks are sent,
     * and a TTL shorter than the transaction must not start a fresh history halfway through the
     * batch (which would hide and delete its first chunks). Same parameters as `append`.
     */
    appendMore: `WITH ${CLOCK_CTE},
up AS (
  UPDATE ${t.sessions}
  SET next_seq = next_seq + $4::bigint, item_count = item_count + $4::bigint, updated_at = ${CLOCK}, expires_at = ${expiry(CLOCK, '$3')}
  WHERE session_id = $1::text
  RETURNING next_seq
),
inserted AS (
  INSERT INTO ${t.items} (session_id, seq, item)
  SELECT $1::text, up.next_seq - $4::bigint + b.ord - 1, b.item
  FROM up, ${split('$2')}
)
SELECT 1 AS ok`,

    /**
     * Takes the session row lock, inserting the row when it is absent, without writing a new
     * version of an existing row (`DO UPDATE ... WHERE false` still locks it). Statement 1 of
     * `popItem` and `clearSession`, so that every writer holds the session row before it
     * touches items. Returns a row only when it inserted one (nothing existed): a clear
     * then rolls back, so that it never creates a catalog entry. `$1` id.
     */
    lock: `INSERT INTO ${t.sessions} AS s (session_id) VALUES ($1::text)
ON CONFLICT (session_id) DO UPDATE SET updated_at = s.updated_at WHERE false
RETURNING true AS inserted`,

    /**
     * With the row locked (by the previous statement): delete the newest live item, slide the
     * expiry. Liveness is judged with the clock read once in this statement, after the lock, not
     * with the transaction's start (`now()`). `$1` id, `$2` ttl.
     */
    pop: `WITH ${CLOCK_CTE},
victim AS (
  DELETE FROM ${t.items}
  WHERE session_id = $1::text AND seq = (
    SELECT seq FROM ${t.items}
    WHERE session_id = $1::text AND seq >= (${liveStartAt(t, CLOCK)})
    ORDER BY seq DESC LIMIT 1
  )
  RETURNING item
),
touched AS (
  UPDATE ${t.sessions} s
  SET updated_at = ${CLOCK}, expires_at = ${expiry(CLOCK, '$2')}, item_count = ${countedItems(t, 's')} - 1
  WHERE s.session_id = $1::text AND EXISTS (SELECT 1 FROM victim)
)
SELECT item AS item FROM victim`,

    /**
     * `clearSession` with the row locked: deletes the items and operation ids, and keeps the
     * session row (its catalog entry and metadata) with no items, `updated_at` and the expiry
     * moved on. Returns a row only for a live session; otherwise the caller rolls back (clearing
     * nothing must not touch the catalog). `$1` id, `$2` ttl.
     */
    clear: `WITH ${CLOCK_CTE},
gone_items AS (DELETE FROM ${t.items} WHERE session_id = $1::text),
gone_ops AS (DELETE FROM ${t.operations} WHERE session_id = $1::text)
UPDATE ${t.sessions}
SET item_count = 0, updated_at = ${CLOCK}, expires_at = ${expiry(CLOCK, '$2')}
WHERE session_id = $1::text AND (expires_at IS NULL OR expires_at > ${CLOCK})
RETURNING 1 AS ok`,

    /**
     * Statement 1 of a history transaction: lock + reserve (see `reserveSql`). `$2` n, `$3` ttl,
     * `$4` how the count changes when it applies (replacement minus expected suffix); a
     * transaction that does not apply rolls back, count included.
     */
    reserve: reserveSql(t, '$2', '$3', { add: '$4' }),

    /** Statement 1 of compaction: lock + reserve; the history becomes the `$2` new items. `$3` ttl. */
    reserveAll: reserveSql(t, '$2', '$3', { set: '$2' }),

    /**
     * Compaction, with the row locked and `$2` numbers reserved: delete every item below the
     * new range, insert one chunk at offset `$3` of the range. Safe to run for every chunk.
     * `$1` id, `$2` total, `$3` offset, `$4` joined chunk.
     */
    replaceChunk: `WITH s AS (SELECT start_seq, next_seq - $2::bigint AS base FROM ${t.sessions} WHERE session_id = $1::text),
gone AS (DELETE FROM ${t.items} WHERE session_id = $1::text AND seq < (SELECT base FROM s)),
dead_ops AS (DELETE FROM ${t.operations} WHERE session_id = $1::text AND epoch < (SELECT start_seq FROM s)),
inserted AS (
  INSERT INTO ${t.items} (session_id, seq, item)
  SELECT $1::text, s.base + $3::bigint + b.ord - 1, b.item
  FROM s, ${split('$4')}
)
SELECT 1 AS ok`,

    /** A further replacement chunk of a transaction: `$2` total reserved, `$3` offset, `$4` chunk. */
    insertChunk: `INSERT INTO ${t.items} (session_id, seq, item)
SELECT $1::text, s.next_seq - $2::bigint + $3::bigint + b.ord - 1, b.item
FROM ${t.sessions} s, ${split('$4')}
WHERE s.session_id = $1::text`,
  };
}
