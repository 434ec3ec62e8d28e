/**
 * The session catalog on the commit log. The truth is the head commit: every commit carries the
 * session's item total, creation date, `at` (its `updatedAt`) and metadata, computed from the
 * head it follows and written in the same guarded single-document upsert as the items, so a
 * count never disagrees with the history it describes. Listing needs an order across sessions,
 * which the heads cannot give (the newest commit of each session is not marked as such), so
 * `<prefix>sessions` keeps one small copy per session: its position (`at`, `_id`), expiry and
 * filterable metadata, written right after each commit and read through the index
 * `{ at: -1, _id: 1 }`. A page is one query on that index plus one query for the candidates'
 * heads, and what it returns comes from the heads.
 */
import {
  type CatalogPosition,
  type CatalogQuery,
  decodeMetadata,
  metadataMatches,
  type SessionInfo,
} from '@sessions/core';
import type { DeleteOptions, Document, Filter, UpdateOptions } from 'mongodb';
import { isDuplicateKey } from '../errors.js';
import { callOptions } from './call.js';
import { type CatalogDoc, type CommitDoc, checkCommit } from './documents.js';
import { isExpired } from './expiry.js';
import type { Namespace } from './namespace.js';

/** What a commit carries for the catalog (see `CommitDoc`). */
export interface CatalogFields {
  total: number;
  created: Date;
  at: Date;
  meta?: string;
  metaV?: number;
}

/** The catalog fields of a head written by this release; undefined for one of the previous release. */
export function catalogFieldsOf(head: CommitDoc): CatalogFields | undefined {
  if (head.total === undefined || !(head.created instanceof Date)) return undefined;
  return {
    total: head.total,
    created: head.created,
    at: head.at,
    ...(head.meta !== undefined && { meta: head.meta }),
    ...(head.metaV !== undefined && { metaV: head.metaV }),
  };
}

/**
 * The fields of the next commit after a live head described by `previous` (undefined: a new
 * history). `at` never goes back, even when writers' clocks differ, so that a write always
 * moves the session to the front; metadata is carried over unless `meta` replaces it.
 */
export function nextCatalogFields(
  previous: CatalogFields | undefined,
  now: number,
  total: number,
  meta?: { text: string; version: number },
): CatalogFields {
  const text = meta ? meta.text : previous?.meta;
  const version = meta ? meta.version : (previous?.metaV ?? 0);
  return {
    total,
    created: previous?.created ?? new Date(now),
    at: new Date(Math.max(now, previous?.at.getTime() ?? 0)),
    ...(text !== undefined && { meta: text }),
    ...(version > 0 && { metaV: version }),
  };
}

/** The public view of a live head. */
export function sessionInfoOf(sessionId: string, head: CommitDoc, fields: CatalogFields): SessionInfo {
  return {
    sessionId,
    createdAt: fields.created,
    updatedAt: fields.at,
    itemCount: fields.total,
    metadata: decodeMetadata(fields.meta),
    ...(head.until instanceof Date && { expiresAt: head.until }),
  };
}

/**
 * Metadata entries a listing can filter on, one string each: `JSON.stringify([key, value])`
 * keeps the type (`'1'` and `1` differ), and a string array sidesteps keys that MongoDB (and
 * FerretDB) cannot hold as field names (`a.b`, `$x`). Objects and arrays never equal a filter.
 */
export function filterPairs(metadata: Record<string, unknown>): string[] {
  const pairs: string[] = [];
  for (const [key, value] of Object.entries(metadata)) {
    if (typeof value === 'string' || typeof value === 'boolean' || typeof value === 'number') {
      pairs.push(JSON.stringify([key, value]));
    }
  }
  return pairs;
}

/**
 * Copies a commit that just landed into the listing. Guarded: only over an older copy (or an
 * expired one, so that a history restarted after the TTL index removed the old one is listed
 * again); a newer copy already there makes the upsert meet the `_id` index, which is fine.
 * Best effort: the write has succeeded, and a copy that failed is replaced by the session's
 * next write or repaired by a page that reads it (see `listPage`).
 */
export async function copyToListing(ns: Namespace, commit: CommitDoc, now: number): Promise<void> {
  const set: Omit<CatalogDoc, '_id'> = {
    rev: commit.rev,
    at: commit.at,
    ...(commit.until && { until: commit.until }),
    ...(commit.expiresAt && { expiresAt: commit.expiresAt }),
  };
  const pairs = filterPairs(decodeMetadata(commit.meta));
  if (pairs.length > 0) set.mf = pairs;
  const unset = (['until', 'expiresAt', 'mf'] as const).filter((key) => set[key] === undefined);
  try {
    await ns.catalog.updateOne(
      { _id: commit.sessionId, $or: [{ rev: { $lt: commit.rev } }, { until: { $lte: new Date(now) } }] },
      {
        $set: set,
        ...(unset.length > 0 && { $unset: Object.fromEntries(unset.map((key) => [key, ''])) }),
      },
      { upsert: true, ...callOptions<UpdateOptions>() },
    );
  } catch (error) {
    if (isDuplicateKey(error)) return;
    // Anything else: see above.
  }
}

/** Everything of one session goes, in one round trip (independent deletes). */
export async function removeSessionDocuments(ns: Namespace, sessionId: string): Promise<void> {
  const options = callOptions<DeleteOptions>();
  await Promise.all([
    ns.history.deleteMany({ sessionId }, options),
    ns.parts.deleteMany({ sessionId }, options),
    ns.catalog.deleteOne({ _id: sessionId }, options),
  ]);
}

/** The listing query for `query`: every condition on the copies, in the index's order. */
export function listingFilter(query: CatalogQuery, now: number): Filter<CatalogDoc> {
  const at: Record<string, unknown> = { $exists: true };
  if (query.updatedAfter !== undefined) at.$gt = new Date(query.updatedAfter);
  if (query.updatedBefore !== undefined) at.$lt = new Date(query.updatedBefore);
  const and: Filter<CatalogDoc>[] = [
    { at },
    { $or: [{ until: { $exists: false } }, { until: { $gt: new Date(now) } }] },
  ];
  if (query.after) {
    const after = new Date(query.after.updatedAt);
    and.push({ $or: [{ at: { $lt: after } }, { at: after, _id: { $gt: query.after.sessionId } }] });
  }
  if (query.metadata.length > 0) {
    and.push({ mf: { $all: query.metadata.map(([key, value]) => JSON.stringify([key, value])) } });
  }
  return { $and: and } as Filter<CatalogDoc>;
}

/** A page with a metadata filter examines at most this many sessions, then says where to resume. */
export const MAX_EXAMINED_PER_PAGE = 10_000;

/** Reads a live head's catalog fields, computing them for a head of the previous release. */
export type FieldsOf = (head: CommitDoc) => Promise<CatalogFields>;

/**
 * One page: at most `limit + 1` copies in listing order (the extra one only says whether more
 * follow), then the heads of the first `limit` in one query (`$or` of `{sessionId, rev >= copy's
 * rev}`: each clause one seek in the `sessionId_rev` index). A candidate is returned only if its
 * head is live and still matches the filter, with the head's values; two round trips whatever
 * the number of sessions. Metadata is filtered in the database (`mf $all`) and checked again on
 * the head; so that a rare value cannot make the server walk the whole index, a filtered page
 * first finds the `MAX_EXAMINED_PER_PAGE`-th entry from the cursor (a covered index scan) and
 * looks no further, resuming after it (a third round trip). Stale copies are repaired in the call.
 */
export async function listPage(
  ns: Namespace,
  query: CatalogQuery,
  fieldsOf: FieldsOf,
  maxExamined = MAX_EXAMINED_PER_PAGE,
): Promise<{ sessions: SessionInfo[]; next?: CatalogPosition }> {
  const now = Date.now();
  const order = { at: -1, _id: 1 } as const;
  let edge: Pick<CatalogDoc, '_id' | 'at'> | undefined;
  const filter = listingFilter(query, now);
  if (query.metadata.length > 0) {
    [edge] = await ns.catalog
      .find(listingFilter({ ...query, metadata: [] }, now), {
        sort: order,
        skip: maxExamined - 1,
        limit: 1,
        projection: { _id: 1, at: 1 },
        ...callOptions(),
      })
      .toArray();
    // At or before the edge in listing order.
    if (edge)
      (filter.$and as Filter<CatalogDoc>[]).push({
        $or: [{ at: { $gt: edge.at } }, { at: edge.at, _id: { $lte: edge._id } }],
      });
  }
  const copies = await ns.catalog
    .find(filter, { sort: order, limit: query.limit + 1, projection: { _id: 1, rev: 1, at: 1 }, ...callOptions() })
    .toArray();
  const more = copies.length > query.limit;
  const candidates = copies.slice(0, query.limit);
  // Stopped at the edge with fewer matches than asked: resume after it.
  const resume = more ? undefined : edge && { updatedAt: edge.at.getTime(), sessionId: edge._id };
  if (candidates.length === 0) return resume ? { sessions: [], next: resume } : { sessions: [] };
  const heads = await readHeads(ns, candidates);
  const sessions: SessionInfo[] = [];
  const repairs: Promise<unknown>[] = [];
  for (const copy of candidates) {
    const head = heads.get(copy._id);
    if (!head) {
      // No commit at or above the copy's rev: the session was deleted (or removed by the TTL
      // index) after the copy was written. Drop the copy unless a new write replaced it.
      repairs.push(ns.catalog.deleteOne({ _id: copy._id, rev: copy.rev }, callOptions<DeleteOptions>()));
      continue;
    }
    if (isExpired(head, now)) continue;
    const fields = await fieldsOf(head);
    if (head.rev > copy.rev) repairs.push(copyToListing(ns, { ...head, ...fields }, now));
    const info = sessionInfoOf(copy._id, head, fields);
    if (matches(info, query)) sessions.push(info);
  }
  await Promise.all(repairs.map((repair) => repair.catch(() => undefined)));
  if (!more) return resume ? { sessions, next: resume } : { sessions };
  const last = candidates.at(-1)!;
  return { sessions, next: { updatedAt: last.at.getTime(), sessionId: last._id } };
}

/** The head (newest commit, without items) of each candidate whose commits reach its copy's rev. */
async function readHeads(
  ns: Namespace,
  candidates: Pick<CatalogDoc, '_id' | 'rev'>[],
): Promise<Map<string, CommitDoc>> {
  const docs = await ns.history
    .find({ $or: candidates.map((copy) => ({ sessionId: copy._id, rev: { $gte: copy.rev } })) } as Filter<Document>, {
      projection: { items: 0, parts: 0, ops: 0 },
      ...callOptions(),
    })
    .toArray();
  const heads = new Map<string, CommitDoc>();
  for (const raw of docs) {
    const doc = checkCommit(raw, false);
    const seen = heads.get(doc.sessionId);
    if (!seen || seen.rev < doc.rev) heads.set(doc.sessionId, doc);
  }
  return heads;
}

/** The filter again, on the head's values (a copy may lag behind a write in flight). */
function matches(info: SessionInfo, query: CatalogQuery): boolean {
  const at = info.updatedAt.getTime();
  if (query.updatedAfter !== undefined && at <= query.updatedAfter) return false;
  if (query.updatedBefore !== undefined && at >= query.updatedBefore) return false;
  return query.metadata.length === 0 || metadataMatches(info.metadata, query.metadata);
}
