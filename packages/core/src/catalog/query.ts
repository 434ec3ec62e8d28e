/**
 * `listSessions` arguments, validated before any I/O, and the opaque cursor. A cursor is the
 * position of the last session a page examined, (updatedAt, sessionId) in listing order, plus a
 * fingerprint of the filter: stateless, so it works in any process and on any replica, and a
 * cursor of another filter is refused instead of silently paging something else.
 */

import { validateSessionId } from '../encoding/arguments.js';
import { decodeBase64, encodeBase64 } from '../encoding/base64.js';
import { fingerprint } from '../encoding/transactions.js';
import { SessionValidationError } from '../errors/session-errors.js';
import type { ListSessionsOptions, SessionFilter } from '../protocol/catalog.js';

export const DEFAULT_PAGE_SIZE = 50;
export const MAX_PAGE_SIZE = 1000;

/** A place in the listing order (newest `updatedAt` first, then `sessionId` ascending). */
export interface CatalogPosition {
  /** Milliseconds since the epoch. */
  updatedAt: number;
  sessionId: string;
}

/** What a backend's catalog primitive is asked for (all validated). */
export interface CatalogQuery {
  limit: number;
  /** Resume strictly after this position. */
  after?: CatalogPosition;
  /** Equality on top-level metadata keys, all must match; empty for none. */
  metadata: ReadonlyArray<readonly [string, string | number | boolean]>;
  /** Exclusive bounds on `updatedAt`, in milliseconds. */
  updatedAfter?: number;
  updatedBefore?: number;
}

const CURSOR_VERSION = 1;

/** Validates `listSessions` options into a query. */
export function parseListOptions(options: ListSessionsOptions | undefined): CatalogQuery {
  if (options !== undefined && (options === null || typeof options !== 'object' || Array.isArray(options))) {
    throw new SessionValidationError('listSessions options must be an object');
  }
  const { limit = DEFAULT_PAGE_SIZE, cursor, ...filter } = options ?? {};
  for (const key of Object.keys(filter)) {
    if (!['metadata', 'updatedAfter', 'updatedBefore'].includes(key)) {
      throw new SessionValidationError(`listSessions does not take ${JSON.stringify(key)}`);
    }
  }
  if (!Number.isInteger(limit) || limit < 1 || limit > MAX_PAGE_SIZE) {
    throw new SessionValidationError(`limit must be an integer from 1 to ${MAX_PAGE_SIZE}, got ${String(limit)}`);
  }
  const query = { limit, ...parseFilter(filter) };
  if (cursor === undefined) return query;
  return { ...query, after: decodeCursor(cursor, filterFingerprint(query)) };
}

function parseFilter(filter: SessionFilter): Omit<CatalogQuery, 'limit' | 'after'> {
  const metadata: Array<readonly [string, string | number | boolean]> = [];
  if (filter.metadata !== undefined) {
    if (filter.metadata === null || typeof filter.metadata !== 'object' || Array.isArray(filter.metadata)) {
      throw new SessionValidationError('metadata filter must be an object of key: value');
    }
    for (const [key, value] of Object.entries(filter.metadata)) {
      const primitive =
        typeof value === 'string' ||
        typeof value === 'boolean' ||
        (typeof value === 'number' && Number.isFinite(value));
      if (key === '' || !primitive) {
        throw new SessionValidationError(
          `metadata filter ${JSON.stringify(key)}: a non-empty key and a string, finite number or boolean`,
        );
      }
      metadata.push([key, value]);
    }
    metadata.sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  }
  return {
    metadata,
    ...(filter.updatedAfter !== undefined && { updatedAfter: dateMs(filter.updatedAfter, 'updatedAfter') }),
    ...(filter.updatedBefore !== undefined && { updatedBefore: dateMs(filter.updatedBefore, 'updatedBefore') }),
  };
}

function dateMs(value: unknown, name: string): number {
  const ms = value instanceof Date ? value.getTime() : Number.NaN;
  if (!Number.isFinite(ms)) throw new SessionValidationError(`${name} must be a valid Date`);
  return ms;
}

function filterFingerprint(query: Omit<CatalogQuery, 'limit' | 'after'>): string {
  return fingerprint(JSON.stringify([query.metadata, query.updatedAfter ?? null, query.updatedBefore ?? null])).slice(
    0,
    12,
  );
}

/** The cursor that resumes `query` after `position`. */
export function encodeCursor(position: CatalogPosition, query: CatalogQuery): string {
  const json = JSON.stringify([CURSOR_VERSION, position.updatedAt, position.sessionId, filterFingerprint(query)]);
  return encodeBase64(new TextEncoder().encode(json)).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
}

function decodeCursor(cursor: unknown, expectedFilter: string): CatalogPosition {
  const bad = (why: string) =>
    new SessionValidationError(`invalid cursor (${why}): pass the nextCursor of a previous page with the same filter`);
  if (typeof cursor !== 'string' || cursor === '' || cursor.length > 4096) throw bad('not a cursor string');
  const bytes = decodeBase64(cursor.replace(/-/g, '+').replace(/_/g, '/'));
  let parsed: unknown;
  try {
    parsed = bytes && JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(bytes));
  } catch {
    parsed = undefined;
  }
  if (!Array.isArray(parsed) || parsed.length !== 4 || parsed[0] !== CURSOR_VERSION) throw bad('unreadable');
  const [, updatedAt, sessionId, filter] = parsed as [number, unknown, unknown, unknown];
  if (!Number.isSafeInteger(updatedAt) || typeof sessionId !== 'string') throw bad('unreadable');
  if (filter !== expectedFilter) throw bad('made for another filter');
  try {
    return { updatedAt: updatedAt as number, sessionId: validateSessionId(sessionId) };
  } catch {
    throw bad('unreadable');
  }
}

/**
 * Listing order: newest first, then session id ascending. Ids compare by UTF-16 code units here;
 * a database compares them by its own byte order (SQL `COLLATE "C"`): each backend pages by the
 * order it sorts in, so only ties between non-ASCII ids may come in another order elsewhere.
 */
export function compareListingOrder(a: CatalogPosition, b: CatalogPosition): number {
  if (a.updatedAt !== b.updatedAt) return b.updatedAt - a.updatedAt;
  return a.sessionId < b.sessionId ? -1 : a.sessionId > b.sessionId ? 1 : 0;
}
