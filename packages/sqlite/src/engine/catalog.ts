/**
 * The store side of the catalog, in SQL. Every session row carries its catalog entry
 * (created_at, updated_at, item_count, metadata, expires_at; see schema.ts), written in the same
 * transaction as the items, so the catalog is never behind the history.
 *
 * A page is one read batch (one round trip, one snapshot) of two statements over the listing
 * index (updated_at DESC, session_id, expires_at): the cost depends on the page, never on how many
 * sessions the namespace holds. Metadata equality is evaluated in SQLite (`json_each` on each
 * examined row), over a window of at most {@link examinedPerPage} index entries: a page with a
 * rare match stops there and resumes from the last entry it examined.
 */
import type { InStatement, ResultSet, Row } from '@libsql/client';
import { type CatalogPosition, type CatalogQuery, decodeMetadata, type SessionInfo } from '@sessions/core';
import type { SchemaNames } from './schema.js';

const COLUMNS = 'session_id, created_at, updated_at, item_count, metadata, expires_at';
const LIVE = '(expires_at IS NULL OR expires_at > ?)';

/**
 * A page's range of the listing index: below the cursor and inside the date bounds. Each side is
 * ONE comparison on updated_at (integer milliseconds, so `> a` is `>= a + 1`), computed here: the
 * planner seeks to the upper end and stops at the lower end, instead of picking one of several
 * bounds and filtering row by row through the rest. The tie on the cursor's millisecond is
 * settled by session id (a filter over the sessions written in that one millisecond).
 */
function range(query: CatalogQuery): { upper?: number; lower: number; after?: CatalogPosition } {
  const uppers = [query.after?.updatedAt, query.updatedBefore === undefined ? undefined : query.updatedBefore - 1];
  const defined = uppers.filter((value): value is number => value !== undefined);
  return {
    ...(defined.length > 0 && { upper: Math.min(...defined) }),
    lower: query.updatedAfter === undefined ? Number.MIN_SAFE_INTEGER : query.updatedAfter + 1,
    ...(query.after && { after: query.after }),
  };
}

function rangeWhere(
  { upper, after }: ReturnType<typeof range>,
  lower: string,
  lowerArgs: (string | number)[],
): { sql: string[]; args: (string | number)[] } {
  const sql: string[] = [];
  const args: (string | number)[] = [];
  if (upper !== undefined) {
    sql.push('updated_at <= ?');
    args.push(upper);
  }
  sql.push(`updated_at >= ${lower}`);
  args.push(...lowerArgs);
  if (after) {
    sql.push('NOT (updated_at = ? AND session_id <= ?)');
    args.push(after.updatedAt, after.sessionId);
  }
  return { sql, args };
}

/**
 * One metadata pair as SQL: the key compared as a raw string (no JSON path, so any key works)
 * and the JSON type checked, so that '1', 1 and true stay three different values.
 */
function metadataPair([key, value]: readonly [string, string | number | boolean]): {
  sql: string;
  args: (string | number)[];
} {
  const entry = 'SELECT 1 FROM json_each(metadata) AS m WHERE m.key = ?';
  if (typeof value === 'boolean') return { sql: `EXISTS (${entry} AND m.type = '${value}')`, args: [key] };
  if (typeof value === 'number') {
    return { sql: `EXISTS (${entry} AND m.type IN ('integer', 'real') AND m.atom = ?)`, args: [key, value] };
  }
  return { sql: `EXISTS (${entry} AND m.type = 'text' AND m.atom = ?)`, args: [key, value] };
}

/**
 * A page as two statements for one read batch (one snapshot). The window a page may examine is
 * the first {@link examinedPerPage} index entries of its range; its last entry (the `bound`) is
 * found by stepping through the covering index, with no table lookup. The first statement is then
 * a plain ordered scan of the index (no sort) that stops at `limit + 1` matches or at the bound,
 * whichever comes first; the second returns the bound itself, where the next page resumes when the
 * window held fewer matches than that. No bound (a short range) means the window is the rest.
 */
export function listStatements(names: SchemaNames, query: CatalogQuery, now: number): InStatement[] {
  const bounds = range(query);
  const order = 'ORDER BY updated_at DESC, session_id';
  const window = rangeWhere(bounds, '?', [bounds.lower]);
  const bound = {
    sql: `SELECT updated_at AS u, session_id AS id FROM ${names.sessions} INDEXED BY ${names.listingIndex}
      WHERE ${window.sql.join(' AND ')} ${order} LIMIT 1 OFFSET ?`,
    args: [...window.args, examinedPerPage(query.limit) - 1],
  };
  // The lower end is the bound when the window is full, so that the scan stops there.
  const scan = rangeWhere(bounds, 'max(?, ifnull((SELECT u FROM bound), ?))', [bounds.lower, bounds.lower]);
  const pairs = query.metadata.map(metadataPair);
  const where = [
    ...scan.sql,
    // (ifnull: with no bound the comparison is NULL, which would drop every row.)
    'NOT ifnull(updated_at = (SELECT u FROM bound) AND session_id > (SELECT id FROM bound), 0)',
    LIVE,
    ...pairs.map((pair) => pair.sql),
  ];
  return [
    {
      // MATERIALIZED: the bound is computed once, not once per reference.
      sql: `WITH bound AS MATERIALIZED (${bound.sql})
        SELECT ${COLUMNS} FROM ${names.sessions} INDEXED BY ${names.listingIndex}
        WHERE ${where.join(' AND ')} ${order} LIMIT ?`,
      args: [...bound.args, ...scan.args, now, ...pairs.flatMap((pair) => pair.args), query.limit + 1],
    },
    bound,
  ];
}

/**
 * Index entries one page examines at most (expired or not matching included): ten per session
 * asked for, at least 1,000. It bounds the work of a page with a rare metadata match, which then
 * returns fewer sessions (maybe none) and a cursor, and keeps a page's cost independent of how
 * many sessions there are.
 */
export function examinedPerPage(limit: number): number {
  return Math.max(1000, limit * 10);
}

/** The page a {@link listStatements} batch found, and where the next one starts if more may follow. */
export function pageOf(
  results: ResultSet[],
  limit: number,
): {
  sessions: SessionInfo[];
  next?: CatalogPosition;
} {
  const rows = results[0]?.rows ?? [];
  const sessions = rows.slice(0, limit).map(sessionInfoOf);
  if (rows.length > limit) {
    const last = sessions.at(-1)!;
    return { sessions, next: { updatedAt: last.updatedAt.getTime(), sessionId: last.sessionId } };
  }
  const lastExamined = results[1]?.rows[0];
  if (lastExamined === undefined) return { sessions };
  return { sessions, next: { updatedAt: Number(lastExamined[0]), sessionId: String(lastExamined[1]) } };
}

export function sessionInfoStatement(names: SchemaNames, sessionId: string, now: number): InStatement {
  return {
    sql: `SELECT ${COLUMNS} FROM ${names.sessions} WHERE session_id = ? AND ${LIVE}`,
    args: [sessionId, now],
  };
}

/** Items, operation ids and the row (metadata with it), in one write transaction; nothing is left to orphan. */
export function removeStatements(names: SchemaNames, sessionId: string): InStatement[] {
  return [names.sessions, names.items, names.operations].map((table) => ({
    sql: `DELETE FROM ${table} WHERE session_id = ?`,
    args: [sessionId],
  }));
}

export function sessionInfoOf(row: Row): SessionInfo {
  const expiresAt = row[5];
  return {
    sessionId: String(row[0]),
    createdAt: new Date(Number(row[1])),
    updatedAt: new Date(Number(row[2])),
    itemCount: Number(row[3]),
    metadata: decodeMetadata(row[4] as string | null),
    ...(expiresAt !== null && expiresAt !== undefined && { expiresAt: new Date(Number(expiresAt)) }),
  };
}
