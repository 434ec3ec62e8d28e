import { expired, expiry, int, live, NOW_MS } from './clock.js';
import type { Tables } from './identifiers.js';

/** The items of a JSON array of strings (see `batches.ts`), with their 1-based position. */
const JSON_ITEMS = `JSON_TABLE(?, '$[*]' COLUMNS (ord FOR ORDINALITY, item LONGTEXT PATH '$')) AS j`;

/**
 * Every statement of a namespace, each ONE statement (multi-statement mode stays off) with `?`
 * parameters, run as a server-side prepared statement. Writers always lock the session row
 * first (the reserve upsert or `lock`), so one session's writers queue on one row and never
 * deadlock on each other; item rows are only touched under that lock.
 */
export function statements(t: Tables) {
  return {
    /** The newest `?` live items, newest first (a backward primary-key range). `?` id, `?` limit. */
    readNewest: `SELECT i.item AS item FROM ${t.sessions} s
JOIN ${t.items} i ON i.session_id = s.session_id AND i.seq >= s.start_seq
WHERE s.session_id = ? AND ${live('s.')}
ORDER BY i.seq DESC LIMIT ?`,

    /** Every live item, oldest first. `?` id. */
    readAll: `SELECT i.item AS item FROM ${t.sessions} s
JOIN ${t.items} i ON i.session_id = s.session_id AND i.seq >= s.start_seq
WHERE s.session_id = ? AND ${live('s.')}
ORDER BY i.seq`,

    /**
     * `addItems`, statement 1: reserves `n` sequence numbers on the session row (creating it),
     * slides the expiry, and starts a fresh history when the row had expired (`start_seq` jumps
     * past every old number, so old items and operation ids are dead at once). The upsert takes
     * the row lock. Its result is reported through `LAST_INSERT_ID(expr)`, which the server
     * returns in the OK packet: `next_seq * 2 + (1 when a fresh history began)`, so no SELECT
     * follows. Every assignment reads only columns assigned after it (`expires_at` last), so the
     * statement means the same with MariaDB's SIMULTANEOUS_ASSIGNMENT mode on or off.
     * `?` id, n, ttl ms, n | n, n, ttl ms.
     */
    reserve: `INSERT INTO ${t.sessions} (session_id, start_seq, next_seq, created_at, updated_at, expires_at, item_count)
VALUES (?, 0, LAST_INSERT_ID(${int} * 2) DIV 2, ${NOW_MS}, ${NOW_MS}, ${expiry}, ${int})
ON DUPLICATE KEY UPDATE
  start_seq = IF(${expired()}, next_seq + 1, start_seq),
  created_at = IF(${expired()}, ${NOW_MS}, created_at),
  item_count = IF(${expired()}, 0, item_count) + ${int},
  next_seq = LAST_INSERT_ID((IF(${expired()}, next_seq + 1, next_seq) + ${int}) * 2 + IF(${expired()}, 1, 0)) DIV 2,
  updated_at = GREATEST(updated_at, ${NOW_MS}),
  expires_at = ${expiry}`,

    /** The value the last `LAST_INSERT_ID(expr)` set, for servers that do not report it in the OK packet. */
    lastInsertId: 'SELECT LAST_INSERT_ID() AS id',

    /** Inserts a chunk of items from a JSON array of their texts. `?` id, first seq, JSON array. */
    insertItems: `INSERT INTO ${t.items} (session_id, seq, item)
SELECT ?, ${int} + j.ord - 1, j.item FROM ${JSON_ITEMS}`,

    /**
     * The session row, locked (statement 1 of pop, clear, compaction and transactions), and
     * whether it has expired by the server's clock now. `?` id.
     */
    lock: `SELECT start_seq AS start, next_seq AS next, item_count AS count, ${expired()} AS expired
FROM ${t.sessions} WHERE session_id = ? FOR UPDATE`,

    /** The newest live item. `?` id, `?` start_seq. */
    newest: `SELECT seq AS seq, item AS item FROM ${t.items} WHERE session_id = ? AND seq >= ${int}
ORDER BY seq DESC LIMIT 1`,

    /** The newest `?` live items, newest first, with their numbers. `?` id, start_seq, limit. */
    tail: `SELECT seq AS seq, item AS item FROM ${t.items} WHERE session_id = ? AND seq >= ${int}
ORDER BY seq DESC LIMIT ?`,

    /** One item by its key. `?` id, seq. */
    deleteItem: `DELETE FROM ${t.items} WHERE session_id = ? AND seq = ${int}`,

    /** Items from `?` on. `?` id, first seq. */
    deleteItemsFrom: `DELETE FROM ${t.items} WHERE session_id = ? AND seq >= ${int}`,

    /** Items below `?` (an old history). `?` id, seq. */
    deleteItemsBelow: `DELETE FROM ${t.items} WHERE session_id = ? AND seq < ${int}`,

    /** Every item. `?` id. */
    deleteItems: `DELETE FROM ${t.items} WHERE session_id = ?`,

    /** Every operation id. `?` id. */
    deleteOperations: `DELETE FROM ${t.operations} WHERE session_id = ?`,

    /** Operation ids of older histories. `?` id, epoch. */
    deleteOperationsBelow: `DELETE FROM ${t.operations} WHERE session_id = ? AND epoch < ${int}`,

    /** A pop's bookkeeping, with the row locked. `?` ttl ms, id. */
    popped: `UPDATE ${t.sessions} SET item_count = item_count - 1, updated_at = GREATEST(updated_at, ${NOW_MS}),
  expires_at = ${expiry} WHERE session_id = ?`,

    /** `clearSession` keeps the row (catalog entry, metadata) with no items. `?` ttl ms, id. */
    cleared: `UPDATE ${t.sessions} SET item_count = 0, updated_at = GREATEST(updated_at, ${NOW_MS}),
  expires_at = ${expiry} WHERE session_id = ?`,

    /**
     * The row after a compaction or an applied transaction, with the row locked.
     * `?` start_seq, next_seq, fresh (1: the history restarted), item_count, ttl ms, id.
     */
    rewritten: `UPDATE ${t.sessions} SET start_seq = ${int}, next_seq = ${int},
  created_at = IF(${int} = 1, ${NOW_MS}, created_at), item_count = ${int},
  updated_at = GREATEST(updated_at, ${NOW_MS}), expires_at = ${expiry}
WHERE session_id = ?`,

    /**
     * A new, empty session row, inserted (and so locked) by a compaction or transaction on a
     * session that had none. `?` id, start_seq, next_seq, ttl ms, item_count.
     */
    created: `INSERT INTO ${t.sessions} (session_id, start_seq, next_seq, created_at, updated_at, expires_at, item_count)
VALUES (?, ${int}, ${int}, ${NOW_MS}, ${NOW_MS}, ${expiry}, ${int})`,

    /** A remembered operation id of this history, within retention. `?` id, op id, epoch, retention ms. */
    knownOperation: `SELECT fingerprint AS fingerprint FROM ${t.operations}
WHERE session_id = ? AND operation_id = ? AND epoch = ${int} AND created_at > ${NOW_MS} - ${int}`,

    /** Remembers an applied operation id. `?` id, op id, fingerprint, epoch | fingerprint, epoch. */
    recordOperation: `INSERT INTO ${t.operations} (session_id, operation_id, fingerprint, epoch, created_at)
VALUES (?, ?, ?, ${int}, ${NOW_MS})
ON DUPLICATE KEY UPDATE fingerprint = ?, epoch = ${int}, created_at = ${NOW_MS}`,

    /** Forgets other operation ids of older histories or past retention. `?` id, op id, epoch, retention ms. */
    dropStaleOperations: `DELETE FROM ${t.operations}
WHERE session_id = ? AND operation_id <> ? AND (epoch < ${int} OR created_at <= ${NOW_MS} - ${int})`,

    /** A live session's metadata text ('' when none) and version. `?` id. */
    readMetadata: `SELECT COALESCE(metadata, '') AS text, metadata_version AS version FROM ${t.sessions}
WHERE session_id = ? AND ${live()}`,

    /** Metadata of a session that has no row yet. `?` id, ttl ms, text. */
    insertMetadata: `INSERT INTO ${t.sessions}
  (session_id, start_seq, next_seq, created_at, updated_at, expires_at, item_count, metadata, metadata_version)
VALUES (?, 0, 0, ${NOW_MS}, ${NOW_MS}, ${expiry}, 0, ?, 1)`,

    /**
     * Compare-and-set from version 0 on an existing row: only when it holds no metadata yet or
     * has expired (then it starts a fresh, empty history, as any write to it does). One statement,
     * judged under the row lock; assignments ordered as in `reserve`. `?` text, ttl ms, id.
     */
    writeFirstMetadata: `UPDATE ${t.sessions} SET
  start_seq = IF(${expired()}, next_seq + 1, start_seq),
  next_seq = IF(${expired()}, next_seq + 1, next_seq),
  created_at = IF(${expired()}, ${NOW_MS}, created_at),
  item_count = IF(${expired()}, 0, item_count),
  metadata = ?,
  metadata_version = 1,
  updated_at = GREATEST(updated_at, ${NOW_MS}),
  expires_at = ${expiry}
WHERE session_id = ? AND (metadata_version = 0 OR ${expired()})`,

    /** Compare-and-set from version `?` ≥ 1 on a live row. `?` text, new version, ttl ms, id, expected version. */
    writeNextMetadata: `UPDATE ${t.sessions} SET metadata = ?, metadata_version = ${int},
  updated_at = GREATEST(updated_at, ${NOW_MS}), expires_at = ${expiry}
WHERE session_id = ? AND metadata_version = ${int} AND ${live()}`,

    /** `deleteSession`, statement 1: the row (its lock waits for a writer in flight). `?` id. */
    removeRow: `DELETE FROM ${t.sessions} WHERE session_id = ?`,
  };
}

export type Statements = ReturnType<typeof statements>;

const cache = new Map<string, Statements>();

/** The statements of a namespace, built once. */
export function statementsFor(t: Tables): Statements {
  let built = cache.get(t.prefix);
  if (!built) {
    built = statements(t);
    cache.set(t.prefix, built);
  }
  return built;
}
