import {
  type CatalogPosition,
  type CatalogQuery,
  decodeMetadata,
  metadataMatches,
  type SessionInfo,
} from '@sessions/core';
import { int, live } from './clock.js';
import type { Param } from './connection.js';
import type { Tables } from './identifiers.js';

/**
 * The session catalog on the sessions table: one row per session carries `item_count`,
 * `created_at` / `updated_at` (milliseconds), `metadata` (core's canonical JSON text, returned
 * byte-identical) and `metadata_version`. A listing page is ONE statement: a range scan of the
 * `(recency, session_id)` index, bounded by a LIMIT, whatever the number of sessions.
 */

/**
 * A page looks at no more than this many sessions (expired ones and filter misses included): a
 * rare metadata value cannot make one page scan the whole table. Such a page returns fewer
 * sessions, and a cursor after the last one it looked at.
 */
export const MAX_EXAMINED_PER_PAGE = 2_000;

/** The columns of a {@link SessionInfo}. `id` is cast from VARBINARY so that it comes back as text. */
const INFO_COLUMNS = `CAST(session_id AS CHAR CHARACTER SET utf8mb4) AS id, created_at AS created,
  updated_at AS updated, expires_at AS expires, item_count AS count`;

export interface InfoRow {
  id: string;
  created: number | string;
  updated: number | string;
  expires: number | string | null;
  count: number | string;
  metadata: string | null;
}

interface ListRow extends InfoRow {
  live: number | string;
  /** 1 when the metadata may match the filter (a substring test; the exact test is done here). */
  candidate: number | string;
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

export function catalogStatements(t: Tables) {
  return {
    /** One live session's entry. `?` id. */
    info: `SELECT ${INFO_COLUMNS}, metadata AS metadata FROM ${t.sessions} WHERE session_id = ? AND ${live()}`,
  };
}

/** `%`, `_` and the escape character itself, escaped for `LIKE ... ESCAPE '!'`. */
const likeLiteral = (text: string) => text.replace(/[!%_]/g, '!$&');

/**
 * The substring every matching metadata text contains: canonical JSON writes a top-level pair as
 * `"key":value` with the value as `JSON.stringify` prints it, so the text must contain that. It
 * can also occur nested or inside a string, hence only a pre-filter: the exact test (top level,
 * same type) is core's `metadataMatches`, here.
 */
function pairPattern([key, value]: readonly [string, string | number | boolean]): string {
  return `%${likeLiteral(`${JSON.stringify(key)}:${JSON.stringify(value)}`)}%`;
}

/**
 * The statement of one page. It walks the listing index from the cursor (or the `updatedBefore`
 * bound) and returns at most `limit + 1` rows when nothing filters, else at most
 * {@link MAX_EXAMINED_PER_PAGE} rows, each small: the metadata text only of the rows whose
 * text contains every filter pair. Expiry is judged here with the server's clock, in code.
 */
export function listStatement(
  t: Tables,
  query: CatalogQuery,
  examined = MAX_EXAMINED_PER_PAGE,
): { sql: string; params: Param[] } {
  const where: string[] = [];
  const params: Param[] = [];
  if (query.after) {
    // Index range on recency; only ties in the same millisecond are filtered by id.
    where.push(`recency >= ${int}`, `(recency > ${int} OR session_id > ?)`);
    params.push(-query.after.updatedAt, -query.after.updatedAt, query.after.sessionId);
  }
  if (query.updatedAfter !== undefined) {
    where.push(`recency < ${int}`);
    params.push(-query.updatedAfter);
  }
  if (query.updatedBefore !== undefined) {
    where.push(`recency > ${int}`);
    params.push(-query.updatedBefore);
  }
  const candidate =
    query.metadata.length === 0 ? '1' : `(${query.metadata.map(() => "metadata LIKE ? ESCAPE '!'").join(' AND ')})`;
  const filterParams = query.metadata.map(pairPattern);
  const filtered = query.metadata.length > 0;
  const sql = `SELECT ${INFO_COLUMNS}, ${live()} AS live, ${candidate} AS candidate,
  CASE WHEN ${candidate} THEN metadata END AS metadata
FROM ${t.sessions} FORCE INDEX (${t.recentIndex})
${where.length > 0 ? `WHERE ${where.join(' AND ')}` : ''}
ORDER BY recency, session_id
LIMIT ?`;
  const rowLimit = filtered ? Math.max(examined, query.limit + 1) : query.limit + 1;
  // The candidate test appears twice (a flag and the metadata it selects): its parameters too.
  return { sql, params: [...filterParams, ...filterParams, ...params, String(rowLimit)] };
}

/** A page from the listing rows: at most `limit` sessions, and where to resume when more may follow. */
export function toPage(
  rows: readonly ListRow[],
  query: CatalogQuery,
  rowLimit: number,
): { sessions: SessionInfo[]; next?: CatalogPosition } {
  const position = (row: InfoRow): CatalogPosition => ({ updatedAt: Number(row.updated), sessionId: row.id });
  const sessions: SessionInfo[] = [];
  for (const row of rows) {
    if (Number(row.live) !== 1 || Number(row.candidate) !== 1) continue;
    const info = toSessionInfo(row);
    if (query.metadata.length > 0 && !metadataMatches(info.metadata, query.metadata)) continue;
    if (sessions.length === query.limit) {
      // A further match exists: resume after the last one returned.
      const last = sessions.at(-1)!;
      return { sessions, next: { updatedAt: last.updatedAt.getTime(), sessionId: last.sessionId } };
    }
    sessions.push(info);
  }
  // The scan stopped at its bound: resume after the last session it looked at.
  return rows.length === rowLimit ? { sessions, next: position(rows.at(-1)!) } : { sessions };
}

/** The number of rows {@link listStatement} asks for. */
export function rowLimitOf(query: CatalogQuery, examined = MAX_EXAMINED_PER_PAGE): number {
  return query.metadata.length > 0 ? Math.max(examined, query.limit + 1) : query.limit + 1;
}
