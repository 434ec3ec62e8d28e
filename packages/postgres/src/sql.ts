import { validateName } from '@sessions/core';

/** Default PostgreSQL schema of the tables. */
export const DEFAULT_SCHEMA = 'public';
/** Default prefix of the table names (`agent_sessions`, `agent_items`, ...). */
export const DEFAULT_TABLE_PREFIX = 'agent_';
/** The layout version this package writes and understands. */
export const SCHEMA_VERSION = 1;

/**
 * Quoted, schema-qualified names of the four tables. `schema` and `tablePrefix` are checked by
 * core's `validateName` (letters, digits and `_` only, at most 48 characters) before they are
 * quoted, so no name can inject SQL; the longest table name (`<prefix>schema_version`) stays
 * within PostgreSQL's 63-byte identifier limit.
 */
export interface Tables {
  schema: string;
  prefix: string;
  /** `"schema"` */
  qschema: string;
  sessions: string;
  items: string;
  operations: string;
  version: string;
  /** Unqualified index names (an index lives in its table's schema). */
  sessionsExpiresIndex: string;
  operationsCreatedIndex: string;
  /** Identifies the namespace, e.g. for memoising migrations. */
  key: string;
}

export function tablesFor(schema: unknown, tablePrefix: unknown): Tables {
  const s = validateName(schema === undefined ? DEFAULT_SCHEMA : schema, 'schema');
  const p = validateName(tablePrefix === undefined ? DEFAULT_TABLE_PREFIX : tablePrefix, 'tablePrefix');
  const q = (name: string) => `"${name}"`;
  const table = (suffix: string) => `${q(s)}.${q(p + suffix)}`;
  return {
    schema: s,
    prefix: p,
    qschema: q(s),
    sessions: table('sessions'),
    items: table('items'),
    operations: table('operations'),
    version: table('schema_version'),
    sessionsExpiresIndex: q(`${p}sessions_expires`),
    operationsCreatedIndex: q(`${p}operations_created`),
    key: `${s}\u0000${p}`,
  };
}

/** The DDL of {@link SCHEMA_VERSION}, idempotent (`IF NOT EXISTS`), in order. */
export function schemaStatements(t: Tables): string[] {
  return [
    `CREATE TABLE IF NOT EXISTS ${t.sessions} (
  session_id text PRIMARY KEY,
  start_seq  bigint NOT NULL DEFAULT 0,
  next_seq   bigint NOT NULL DEFAULT 0,
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now(),
  expires_at timestamptz
)`,
    `CREATE INDEX IF NOT EXISTS ${t.sessionsExpiresIndex} ON ${t.sessions} (expires_at) WHERE expires_at IS NOT NULL`,
    `CREATE TABLE IF NOT EXISTS ${t.items} (
  session_id text NOT NULL,
  seq        bigint NOT NULL,
  item       text NOT NULL,
  PRIMARY KEY (session_id, seq)
)`,
    `CREATE TABLE IF NOT EXISTS ${t.operations} (
  session_id   text NOT NULL,
  operation_id text NOT NULL,
  fingerprint  text NOT NULL,
  epoch        bigint NOT NULL,
  created_at   timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (session_id, operation_id)
)`,
    `CREATE INDEX IF NOT EXISTS ${t.operationsCreatedIndex} ON ${t.operations} (created_at)`,
    `CREATE TABLE IF NOT EXISTS ${t.version} (
  id         integer PRIMARY KEY CHECK (id = 1),
  version    integer NOT NULL,
  updated_at timestamptz NOT NULL DEFAULT now()
)`,
  ];
}

/** `at + ttl` (`at` a timestamp expression), or NULL when the ttl parameter is NULL (no expiry). */
const expiry = (at: string, param: string) => `${at} + make_interval(secs => ${param}::float8)`;
/** The items of a joined parameter (see {@link joinItems}) with their 1-based position. */
const split = (param: string) => `unnest(string_to_array(${param}::text, chr(1))) WITH ORDINALITY AS b(item, ord)`;
/** The session row is live (exists and has not expired) at timestamp expression `at`. */
const live = (alias: string, at: string) => `(${alias}.expires_at IS NULL OR ${alias}.expires_at > ${at})`;
/**
 * Expiry is always judged with the wall clock, `clock_timestamp()`, never `now()`: `now()` is the
 * start of the transaction (or statement), which can be long before the moment a writer gets the
 * session row lock. A writer that started before the expiry instant but waited on the lock past
 * it would otherwise decide "not expired" and append onto (or pop from) the old history. Writers
 * read the clock once per statement, after the lock is held: through {@link CLOCK_CTE} (a
 * materialised CTE, evaluated once) in statements that run with the lock already held, or in a
 * sub-select of the locked row's `SET` (see `reserveSql`).
 */
const CLOCK_CTE = 'clk AS MATERIALIZED (SELECT clock_timestamp() AS t)';
/** The one reading of {@link CLOCK_CTE}, as a scalar expression. */
const CLOCK = '(SELECT clk.t FROM clk)';

/**
 * Every statement a session runs, built once per namespace. Parameters are always cast in the
 * SQL, so the driver never has to guess a type, and results use one-word lower-case column
 * names, so a caller's client with column transforms (e.g. `postgres.camel`) reads them alike.
 */
export function buildQueries(t: Tables) {
  /** First live sequence number of session `$1`, NULL when it is absent or expired. */
  const liveStartAt = (at: string) =>
    `SELECT s.start_seq FROM ${t.sessions} s WHERE s.session_id = $1::text AND ${live('s', at)}`;
  /** For reads: one snapshot, expiry judged with the current clock. */
  const liveStart = liveStartAt('clock_timestamp()');
  /**
   * Reserves `n` sequence numbers on the session row (creating it), slides the expiry, and
   * starts a fresh history when the row had expired: `start_seq` jumps past every old number,
   * so old items and operation ids (tagged with the old `start_seq`) are dead at once.
   * `$1` session id, then the parameters named for n and the ttl (seconds or NULL).
   *
   * Expiry is judged AFTER the row lock is held: `ON CONFLICT DO UPDATE` locks the existing row
   * (waiting for any holder) and only then evaluates `SET`, whose correlated sub-select reads
   * `clock_timestamp()` once (`c.t`), so every column agrees on one instant, none earlier than
   * the lock. A new row takes its timestamps from one clock reading too.
   */
  const reserveSql = (
    n: string,
    ttl: string,
  ) => `INSERT INTO ${t.sessions} AS s (session_id, start_seq, next_seq, created_at, updated_at, expires_at)
SELECT $1::text, 0, ${n}::bigint, c.t, c.t, ${expiry('c.t', ttl)} FROM (SELECT clock_timestamp() AS t) c
ON CONFLICT (session_id) DO UPDATE SET (start_seq, next_seq, created_at, updated_at, expires_at) = (
  SELECT
    CASE WHEN s.expires_at <= c.t THEN s.next_seq + 1 ELSE s.start_seq END,
    CASE WHEN s.expires_at <= c.t THEN s.next_seq + 1 ELSE s.next_seq END + excluded.next_seq,
    CASE WHEN s.expires_at <= c.t THEN c.t ELSE s.created_at END,
    c.t,
    ${expiry('c.t', ttl)}
  FROM (SELECT clock_timestamp() AS t) c
)
RETURNING s.start_seq, s.next_seq`;

  return {
    /**
     * `addItems` in one statement: reserve the range, delete what an expiry left behind (only
     * when the history is this batch alone, i.e. new or just reset), insert the batch from ONE
     * text parameter split with `unnest(string_to_array(...)) WITH ORDINALITY`.
     * `$1` id, `$2` joined items, `$3` ttl, `$4` item count.
     */
    append: `WITH up AS (
${reserveSql('$4', '$3')}
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
  UPDATE ${t.sessions} SET next_seq = next_seq + $4::bigint, updated_at = ${CLOCK}, expires_at = ${expiry(CLOCK, '$3')}
  WHERE session_id = $1::text
  RETURNING next_seq
),
inserted AS (
  INSERT INTO ${t.items} (session_id, seq, item)
  SELECT $1::text, up.next_seq - $4::bigint + b.ord - 1, b.item
  FROM up, ${split('$2')}
)
SELECT 1 AS ok`,

    /** The newest `$2` live items, newest first (an index scan backward). `$1` id. */
    readNewest: `SELECT item AS item FROM ${t.items}
WHERE session_id = $1::text AND seq >= (${liveStart})
ORDER BY seq DESC
LIMIT $2::bigint`,

    /** Every live item, oldest first. `$1` id. */
    readAll: `SELECT item AS item FROM ${t.items}
WHERE session_id = $1::text AND seq >= (${liveStart})
ORDER BY seq`,

    /**
     * Takes the session row lock, inserting the row when it is absent, without writing a new
     * version of an existing row (`DO UPDATE ... WHERE false` still locks it). Statement 1 of
     * `popItem` and `clearSession`, so that every writer holds the session row before it touches
     * items: one lock order everywhere, hence no deadlocks. `$1` id.
     */
    lock: `INSERT INTO ${t.sessions} AS s (session_id) VALUES ($1::text)
ON CONFLICT (session_id) DO UPDATE SET updated_at = s.updated_at WHERE false`,

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
    WHERE session_id = $1::text AND seq >= (${liveStartAt(CLOCK)})
    ORDER BY seq DESC LIMIT 1
  )
  RETURNING item
),
touched AS (
  UPDATE ${t.sessions} SET updated_at = ${CLOCK}, expires_at = ${expiry(CLOCK, '$2')}
  WHERE session_id = $1::text AND EXISTS (SELECT 1 FROM victim)
)
SELECT item AS item FROM victim`,

    /** `clearSession` with the row locked: items, operation ids and the session row. `$1` id. */
    clear: `WITH gone_items AS (DELETE FROM ${t.items} WHERE session_id = $1::text),
gone_ops AS (DELETE FROM ${t.operations} WHERE session_id = $1::text)
DELETE FROM ${t.sessions} WHERE session_id = $1::text`,

    /** Statement 1 of compaction and transactions: lock + reserve (see above). `$2` n, `$3` ttl. */
    reserve: reserveSql('$2', '$3'),

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

    /**
     * A history transaction, with the row locked and `$5` numbers reserved. Decides in SQL:
     * a known operation id (same epoch, within retention) is a replay or a conflict; else the
     * live history must end with exactly `$4` (text equality of canonical JSON). Only when the
     * verdict is `applied` does it delete that suffix, record the id, drop stale ids and insert
     * the first chunk `$7` of the replacement; the caller rolls back on any other verdict.
     * `$1` id, `$2` operation id, `$3` fingerprint, `$4` joined expected suffix, `$5` replacement
     * length, `$6` retention seconds, `$7` joined first replacement chunk, `$8` suffix length.
     */
    transaction: `WITH ${CLOCK_CTE},
s AS (SELECT start_seq, next_seq - $5::bigint AS base FROM ${t.sessions} WHERE session_id = $1::text),
known AS (
  SELECT o.fingerprint FROM ${t.operations} o, s
  WHERE o.session_id = $1::text AND o.operation_id = $2::text AND o.epoch = s.start_seq
    AND o.created_at > ${CLOCK} - make_interval(secs => $6::float8)
),
tail AS (
  SELECT seq, item FROM ${t.items}
  WHERE session_id = $1::text AND seq >= (SELECT start_seq FROM s) AND seq < (SELECT base FROM s)
  ORDER BY seq DESC
  LIMIT $8::bigint
),
verdict AS (
  SELECT CASE
    WHEN EXISTS (SELECT 1 FROM known) THEN
      CASE WHEN (SELECT fingerprint FROM known) = $3::text THEN 'replay' ELSE 'operation_id_reused' END
    WHEN (SELECT count(*) FROM tail) = $8::bigint
      AND coalesce((SELECT array_agg(item ORDER BY seq) FROM tail), '{}'::text[]) = string_to_array($4::text, chr(1))
      THEN 'applied'
    ELSE 'suffix_mismatch'
  END AS verdict
),
gone AS (
  DELETE FROM ${t.items}
  WHERE session_id = $1::text AND (SELECT verdict FROM verdict) = 'applied'
    AND (seq IN (SELECT seq FROM tail) OR seq < (SELECT start_seq FROM s))
),
recorded AS (
  INSERT INTO ${t.operations} (session_id, operation_id, fingerprint, epoch, created_at)
  SELECT $1::text, $2::text, $3::text, s.start_seq, ${CLOCK} FROM s WHERE (SELECT verdict FROM verdict) = 'applied'
  ON CONFLICT (session_id, operation_id) DO UPDATE
  SET fingerprint = excluded.fingerprint, epoch = excluded.epoch, created_at = excluded.created_at
),
stale AS (
  DELETE FROM ${t.operations} o
  WHERE o.session_id = $1::text AND o.operation_id <> $2::text AND (SELECT verdict FROM verdict) = 'applied'
    AND (o.epoch < (SELECT start_seq FROM s) OR o.created_at <= ${CLOCK} - make_interval(secs => $6::float8))
),
inserted AS (
  INSERT INTO ${t.items} (session_id, seq, item)
  SELECT $1::text, s.base + b.ord - 1, b.item
  FROM s, ${split('$7')}
  WHERE (SELECT verdict FROM verdict) = 'applied'
)
SELECT verdict AS verdict FROM verdict`,

    /** A further replacement chunk of a transaction: `$2` total reserved, `$3` offset, `$4` chunk. */
    insertChunk: `INSERT INTO ${t.items} (session_id, seq, item)
SELECT $1::text, s.next_seq - $2::bigint + $3::bigint + b.ord - 1, b.item
FROM ${t.sessions} s, ${split('$4')}
WHERE s.session_id = $1::text`,

    /**
     * Locks up to `$1` expired session rows (skipping rows other writers hold). `now()` (this
     * short transaction's start) is deliberately conservative here: it can only leave a session
     * that expired a moment ago for the next run, never delete one a writer still sees as live.
     */
    lockExpired: `SELECT session_id AS id FROM ${t.sessions}
WHERE expires_at <= now()
ORDER BY expires_at
LIMIT $1::int
FOR UPDATE SKIP LOCKED`,
    /** Deletes the locked expired sessions `$1` (text[] literal) with their items and ids. */
    deleteSessions: `WITH items AS (DELETE FROM ${t.items} WHERE session_id = ANY ($1::text[])),
ops AS (DELETE FROM ${t.operations} WHERE session_id = ANY ($1::text[]))
DELETE FROM ${t.sessions} WHERE session_id = ANY ($1::text[]) AND expires_at <= now()`,
    /**
     * Operation ids older than `$1` seconds, at most `$2` of them. Rows a writer holds are
     * skipped, so this never waits on (or deadlocks with) a transaction.
     */
    deleteOldOperations: `DELETE FROM ${t.operations} WHERE ctid = ANY (ARRAY(
  SELECT ctid FROM ${t.operations}
  WHERE created_at <= now() - make_interval(secs => $1::float8)
  LIMIT $2::int
  FOR UPDATE SKIP LOCKED
))`,
  };
}

export type Queries = ReturnType<typeof buildQueries>;

const cache = new Map<string, Queries>();

/** The statements of a namespace, built once. */
export function queriesFor(t: Tables): Queries {
  let queries = cache.get(t.key);
  if (!queries) {
    queries = buildQueries(t);
    cache.set(t.key, queries);
  }
  return queries;
}

/**
 * A batch as ONE text parameter: the items joined by U+0001, which canonical JSON never contains
 * (JSON escapes every control character), and split again by the server with
 * `string_to_array(..., chr(1))`. One bind parameter whatever the batch size, nothing to escape
 * (an array literal would need every `"` and `\` escaped, which costs seconds on JSON-heavy
 * megabytes), and it works with any client configuration. An empty batch is `''` (no items).
 */
export function joinItems(items: readonly string[]): string {
  for (const item of items) {
    if (item.includes(SEPARATOR)) throw new Error('An encoded item contains U+0001, which canonical JSON never does');
  }
  return items.join(SEPARATOR);
}

const SEPARATOR = '\u0001';

/** A PostgreSQL text[] literal (every element quoted and escaped), for short lists of ids. */
export function textArrayLiteral(values: readonly string[]): string {
  return `{${values.map((value) => `"${value.replace(/[\\"]/g, '\\$&')}"`).join(',')}}`;
}
