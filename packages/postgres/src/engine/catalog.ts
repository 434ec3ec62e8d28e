import { type CatalogPosition, type CatalogQuery, decodeMetadata, type SessionInfo } from '@sessions/core';
import { CLOCK, CLOCK_CTE, countedItems, expiry } from './fragments.js';
import type { Tables } from './identifiers.js';

/**
 * The session catalog on the sessions table: one row per session carries `item_count`,
 * `created_at` / `updated_at` (milliseconds), `metadata` (core's canonical JSON text, returned
 * byte-identical) and `metadata_scalars` (what listings filter on). A listing page is ONE
 * statement: a range scan of the `(updated_at DESC, session_id COLLATE "C")` index.
 */

/**
 * A page looks at no more than this many sessions (expired ones and filter misses included):
 * a rare metadata value cannot make one page scan the whole table. Such a page returns fewer
 * sessions, and a cursor after the last one it looked at.
 */
export const MAX_EXAMINED_PER_PAGE = 10_000;

/**
 * The filterable form of metadata: every top-level string, number or boolean as
 * `{ JSON(key): JSON(value) }`. Both sides as JSON text, so `'1'` and `1` stay different (as core's
 * equality wants) and NUL, which `jsonb` refuses, arrives escaped. `@>` on such an object is
 * equality on every given key. Numbers compare as JavaScript prints them, as core does. Sent
 * as text and cast (`$n::text::jsonb`): a driver given a jsonb parameter would encode it again.
 */
export function metadataScalars(entries: Iterable<readonly [string, unknown]>): string | null {
  const scalars: Record<string, string> = {};
  let any = false;
  for (const [key, value] of entries) {
    if (typeof value === 'string' || typeof value === 'number' || typeof value === 'boolean') {
      scalars[JSON.stringify(key)] = JSON.stringify(value);
      any = true;
    }
  }
  return any ? JSON.stringify(scalars) : null;
}

/** Milliseconds since the epoch of a timestamp column, as a float8 the driver parses to a number. */
const ms = (column: string) => `round(extract(epoch FROM ${column}) * 1000)::float8`;
/** A timestamp from a parameter of milliseconds, exactly (no float division). */
const fromMs = (param: string) => `(timestamptz 'epoch' + ${param}::bigint * interval '1 millisecond')`;
const live = (alias: string, at: string) => `(${alias}.expires_at IS NULL OR ${alias}.expires_at > ${at})`;

/** The columns of a {@link SessionInfo}, from session row alias `s`. One-word names: see queries.ts. */
const infoColumns = (t: Tables, s: string) => `${s}.session_id AS id, ${ms(`${s}.created_at`)} AS created,
  ${ms(`${s}.updated_at`)} AS updated, ${ms(`${s}.expires_at`)} AS expires,
  ${countedItems(t, s)}::float8 AS count, ${s}.metadata AS metadata`;

export interface InfoRow {
  id: string;
  created: number;
  updated: number;
  expires: number | null;
  count: number;
  metadata: string | null;
}

interface ListRow extends InfoRow {
  listed: boolean;
  last: boolean;
}

export function toSessionInfo(row: InfoRow): SessionInfo {
  return {
    sessionId: row.id,
    createdAt: new Date(Number(row.created)),
    updatedAt: new Date(Number(row.updated)),
    itemCount: Number(row.count),
    metadata: decodeMetadata(row.metadata),
    ...(row.expires !== null && row.expires !== undefined && { expiresAt: new Date(Number(row.expires)) }),
  };
}

/** The fixed catalog statements of a namespace (the listing is built per query shape below). */
export function catalogStatements(t: Tables) {
  return {
    /** One live session's entry. `$1` id. */
    info: `SELECT ${infoColumns(t, 's')} FROM ${t.sessions} s
WHERE s.session_id = $1::text AND ${live('s', 'clock_timestamp()')}`,

    /** A live session's metadata text ('' when none) and version. `$1` id. */
    readMetadata: `SELECT coalesce(s.metadata, '') AS text, s.metadata_version AS version FROM ${t.sessions} s
WHERE s.session_id = $1::text AND ${live('s', 'clock_timestamp()')}`,

    /**
     * Compare-and-set of the metadata when it was read as version 0 (no metadata, no session, or
     * an expired one): one statement, which holds the row lock only while it runs, so that many
     * concurrent writers queue briefly. `ON CONFLICT DO UPDATE` locks an existing row first and
     * only then judges its expiry and version: an expired row counts as version 0 and starts a
     * fresh history (as any write to it does). Returns a row only when it stored.
     * `$1` id, `$2` ttl, `$3` metadata text, `$4` its scalars (jsonb as text, or NULL).
     */
    writeFirstMetadata: `INSERT INTO ${t.sessions} AS s
  (session_id, created_at, updated_at, expires_at, item_count, metadata, metadata_scalars, metadata_version)
SELECT $1::text, c.t, c.t, ${expiry('c.t', '$2')}, 0, $3::text, $4::text::jsonb, 1 FROM (SELECT clock_timestamp() AS t) c
ON CONFLICT (session_id) DO UPDATE SET
  (start_seq, next_seq, created_at, updated_at, expires_at, item_count, metadata, metadata_scalars, metadata_version) = (
  SELECT
    CASE WHEN s.expires_at <= c.t THEN s.next_seq + 1 ELSE s.start_seq END,
    CASE WHEN s.expires_at <= c.t THEN s.next_seq + 1 ELSE s.next_seq END,
    CASE WHEN s.expires_at <= c.t THEN c.t ELSE s.created_at END,
    c.t,
    ${expiry('c.t', '$2')},
    CASE WHEN s.expires_at <= c.t THEN 0 ELSE s.item_count END,
    excluded.metadata,
    excluded.metadata_scalars,
    1
  FROM (SELECT clock_timestamp() AS t) c
)
WHERE s.metadata_version = 0 OR s.expires_at <= clock_timestamp()
RETURNING 1 AS ok`,

    /**
     * Compare-and-set from version `$5` ≥ 1: only a live row still at that version is updated,
     * in one statement. Expiry and version are judged with the clock of the statement's own
     * evaluation; when it waited on a writer that changed the row, PostgreSQL re-evaluates both
     * on the new row version (and a no-op lock holder changed nothing to order against).
     * `$1` id, `$2` ttl, `$3` metadata text, `$4` its scalars, `$5` expected version.
     */
    writeNextMetadata: `UPDATE ${t.sessions} s SET
  updated_at = clock_timestamp(),
  expires_at = ${expiry('clock_timestamp()', '$2')},
  metadata = $3::text,
  metadata_scalars = $4::text::jsonb,
  metadata_version = $5::int + 1
WHERE s.session_id = $1::text AND s.metadata_version = $5::int AND ${live('s', 'clock_timestamp()')}
RETURNING 1 AS ok`,

    /**
     * `deleteSession`, statement 1: deletes the session row, which takes its lock (waiting for a
     * writer), so that statement 2 sees every item committed before. `$1` id.
     */
    removeRow: `DELETE FROM ${t.sessions} WHERE session_id = $1::text`,
    /** Statement 2: the items and operation ids. `$1` id. */
    removeRows: `WITH ops AS (DELETE FROM ${t.operations} WHERE session_id = $1::text)
DELETE FROM ${t.items} WHERE session_id = $1::text`,
  };
}

export type CatalogStatements = ReturnType<typeof catalogStatements>;

/**
 * The listing statement for one query shape (which optional parts are present), so that every
 * condition on `updated_at` is a plain range the planner can put on the index (an `$n IS NULL OR`
 * would not be, under a generic plan). `$1` rows to return (limit + 1, to know whether more
 * follow), `$2` most sessions examined; then the present parts, in the order of {@link listParams}.
 *
 * The inner query walks the index in listing order, numbers what it examines and stops after
 * `$2`; the outer one keeps the live sessions that match, plus the `$2`-th examined (the place to
 * resume when the scan stopped early). The outer ORDER BY is the inner one, so it adds no sort
 * and the scan stops as soon as `$1` rows are found. Counts of version-1 rows are counted only
 * for the rows returned.
 */
function listSql(t: Tables, shape: ListShape): string {
  let n = 2;
  const param = () => `$${++n}`;
  const where: string[] = [];
  if (shape.after) {
    const at = fromMs(param());
    const id = param();
    // Index range on updated_at; only ties in the same millisecond are filtered by id.
    where.push(`s.updated_at <= ${at}`, `(s.updated_at < ${at} OR s.session_id COLLATE "C" > ${id}::text)`);
  }
  if (shape.updatedAfter) where.push(`s.updated_at > ${fromMs(param())}`);
  if (shape.updatedBefore) where.push(`s.updated_at < ${fromMs(param())}`);
  const listed = shape.metadata
    ? `coalesce(${live('s', CLOCK)} AND s.metadata_scalars @> ${param()}::text::jsonb, false)`
    : live('s', CLOCK);
  const order = (alias: string) => `${alias}.updated_at DESC, ${alias}.session_id COLLATE "C"`;
  return `WITH ${CLOCK_CTE}
SELECT ${infoColumns(t, 'x')}, x.listed AS listed, x.rn = $2::bigint AS last
FROM (
  SELECT s.session_id, s.created_at, s.updated_at, s.expires_at, s.item_count, s.start_seq, s.metadata,
    ${listed} AS listed,
    row_number() OVER (ORDER BY ${order('s')}) AS rn
  FROM ${t.sessions} s
  ${where.length > 0 ? `WHERE ${where.join('\n    AND ')}` : ''}
  ORDER BY ${order('s')}
  LIMIT $2::bigint
) x
WHERE x.listed OR x.rn = $2::bigint
ORDER BY ${order('x')}
LIMIT $1::bigint`;
}

interface ListShape {
  after: boolean;
  updatedAfter: boolean;
  updatedBefore: boolean;
  metadata: boolean;
}

const listCache = new Map<string, string>();

/** The statement and parameters of one listing page. */
export function listStatement(
  t: Tables,
  query: CatalogQuery,
  examined = MAX_EXAMINED_PER_PAGE,
): { text: string; params: (string | number)[] } {
  const shape: ListShape = {
    after: query.after !== undefined,
    updatedAfter: query.updatedAfter !== undefined,
    updatedBefore: query.updatedBefore !== undefined,
    metadata: query.metadata.length > 0,
  };
  const key = `${t.key}\u0000${Number(shape.after)}${Number(shape.updatedAfter)}${Number(shape.updatedBefore)}${Number(shape.metadata)}`;
  let text = listCache.get(key);
  if (text === undefined) {
    text = listSql(t, shape);
    listCache.set(key, text);
  }
  return { text, params: listParams(query, Math.max(examined, query.limit + 1)) };
}

function listParams(query: CatalogQuery, examined: number): (string | number)[] {
  const params: (string | number)[] = [query.limit + 1, examined];
  if (query.after) params.push(query.after.updatedAt, query.after.sessionId);
  if (query.updatedAfter !== undefined) params.push(query.updatedAfter);
  if (query.updatedBefore !== undefined) params.push(query.updatedBefore);
  if (query.metadata.length > 0) params.push(metadataScalars(query.metadata) as string);
  return params;
}

/** A page from the listing rows: `limit` sessions, and where to resume when more may follow. */
export function toPage(rows: readonly ListRow[], limit: number): { sessions: SessionInfo[]; next?: CatalogPosition } {
  const matches = rows.filter((row) => row.listed);
  const position = (row: ListRow): CatalogPosition => ({ updatedAt: Number(row.updated), sessionId: row.id });
  if (matches.length > limit) {
    const page = matches.slice(0, limit);
    return { sessions: page.map(toSessionInfo), next: position(page[limit - 1]!) };
  }
  const last = rows.at(-1);
  const sessions = matches.map(toSessionInfo);
  // The scan stopped at its bound: resume after the last session it looked at.
  return last?.last ? { sessions, next: position(last) } : { sessions };
}
