import type { Tables } from './identifiers.js';

/** `at + ttl` (`at` a timestamp expression), or NULL when the ttl parameter is NULL (no expiry). */
export const expiry = (at: string, param: string) => `${at} + make_interval(secs => ${param}::float8)`;

/** The items of a joined parameter (see `joinItems`) with their 1-based position. */
export const split = (param: string) =>
  `unnest(string_to_array(${param}::text, chr(1))) WITH ORDINALITY AS b(item, ord)`;

/** The session row is live (exists and has not expired) at timestamp expression `at`. */
const live = (alias: string, at: string) => `(${alias}.expires_at IS NULL OR ${alias}.expires_at > ${at})`;

/**
 * Expiry is always judged with the wall clock, `clock_timestamp()`, never `now()`: `now()` is the
 * start of the transaction (or statement), which can be long before the moment a writer gets the
 * session row lock. A writer that started before the expiry instant but waited on the lock past
 * it would otherwise decide "not expired" and append onto (or pop from) the old history. Writers
 * read the clock once per statement, after the lock is held: through {@link CLOCK_CTE} (a
 * materialised CTE, evaluated once) in statements that run with the lock already held, or in a
 * sub-select of the locked row's `SET` (see {@link reserveSql}).
 */
export const CLOCK_CTE = 'clk AS MATERIALIZED (SELECT clock_timestamp() AS t)';
/** The one reading of {@link CLOCK_CTE}, as a scalar expression. */
export const CLOCK = '(SELECT clk.t FROM clk)';

/** First live sequence number of session `$1` at timestamp expression `at`, NULL when absent or expired. */
export const liveStartAt = (t: Tables, at: string) =>
  `SELECT s.start_seq FROM ${t.sessions} s WHERE s.session_id = $1::text AND ${live('s', at)}`;

/**
 * Items of the live history of the session row `alias`, counted: only for a row of schema
 * version 1, whose `item_count` is still NULL (see `ddl.ts`); every write stores the count.
 */
export const countedItems = (t: Tables, alias: string) =>
  `coalesce(${alias}.item_count, (SELECT count(*) FROM ${t.items} i WHERE i.session_id = ${alias}.session_id AND i.seq >= ${alias}.start_seq))`;

/** How a reserving write changes `item_count`: by a delta on what is kept, or set outright. */
export type CountChange = { add: string } | { set: string };

/**
 * Reserves `n` sequence numbers on the session row (creating it), slides the expiry, and
 * starts a fresh history when the row had expired: `start_seq` jumps past every old number,
 * so old items and operation ids (tagged with the old `start_seq`) are dead at once.
 * `$1` session id, then the parameters named for n and the ttl (seconds or NULL). `count` is
 * the catalog's `item_count` after the write, in the same statement as the items it counts.
 *
 * Expiry is judged AFTER the row lock is held: `ON CONFLICT DO UPDATE` locks the existing row
 * (waiting for any holder) and only then evaluates `SET`, whose correlated sub-select reads
 * `clock_timestamp()` once (`c.t`), so every column agrees on one instant, none earlier than
 * the lock. A new row takes its timestamps from one clock reading too. A version-1 row's count
 * (NULL) is counted from the statement's snapshot: only a lock holder changes items, and every
 * writer of this version stores the count, which the locked row version then carries.
 */
export const reserveSql = (t: Tables, n: string, ttl: string, count: CountChange) => {
  const fresh = 'add' in count ? `${count.add}::bigint` : `${count.set}::bigint`;
  const kept =
    'add' in count
      ? `CASE WHEN s.expires_at <= c.t THEN 0 ELSE ${countedItems(t, 's')} END + ${count.add}::bigint`
      : fresh;
  return `INSERT INTO ${t.sessions} AS s (session_id, start_seq, next_seq, created_at, updated_at, expires_at, item_count)
SELECT $1::text, 0, ${n}::bigint, c.t, c.t, ${expiry('c.t', ttl)}, ${fresh} FROM (SELECT clock_timestamp() AS t) c
ON CONFLICT (session_id) DO UPDATE SET (start_seq, next_seq, created_at, updated_at, expires_at, item_count) = (
  SELECT
    CASE WHEN s.expires_at <= c.t THEN s.next_seq + 1 ELSE s.start_seq END,
    CASE WHEN s.expires_at <= c.t THEN s.next_seq + 1 ELSE s.next_seq END + excluded.next_seq,
    CASE WHEN s.expires_at <= c.t THEN c.t ELSE s.created_at END,
    c.t,
    ${expiry('c.t', ttl)},
    ${kept}
  FROM (SELECT clock_timestamp() AS t) c
)
RETURNING s.start_seq, s.next_seq`;
};
