/**
 * The session catalog on Redis: a per-prefix index of sessions in listing order (see keys.ts),
 * kept beside each session's `meta` hash, which is the truth (createdAt, updatedAt, metadata;
 * itemCount is the LLEN of the items themselves, so it can never drift from them).
 *
 * Standalone server: every session script also moves the index entry, in the same atomic step.
 * Redis Cluster: the index lives in another slot, which no script of the session may touch, so
 * the index script is sent in the same round trip (two commands written together, one per node)
 * and may lag behind when one of them fails. Readers therefore trust the session, not the
 * index: a page reads the entry of every session it lists, drops index members whose session is
 * gone or expired, moves members whose time is stale, and lists a session only at its true place.
 */
import {
  type CatalogPosition,
  type CatalogQuery,
  decodeMetadata,
  metadataMatches,
  SessionCorruptDataError,
  type SessionInfo,
} from '@sessions/core';
import type { RedisSessionClient } from '../options.js';
import {
  type CatalogKeys,
  catalogMember,
  parseCatalogMember,
  type SessionKeys,
  sessionIdOfItemsKey,
  sessionKeys,
  timePrefix,
} from './keys.js';
import { INDEX, type LuaScript, RANGE, READ_INFO, runScript } from './scripts.js';

/** What a cluster client has and a standalone client has not: the masters of its shards. */
interface ClusterLike {
  masters: unknown[];
  nodeClient(node: unknown): Promise<unknown>;
}

/** True for a node-redis cluster client (`createCluster()`), whose keys may live on other nodes. */
export function isCluster(client: RedisSessionClient): boolean {
  const candidate = client as unknown as Partial<ClusterLike>;
  return Array.isArray(candidate.masters) && typeof candidate.nodeClient === 'function';
}

/** How the catalog index follows a write of the session. */
export type IndexMode = 'add' | 'xx' | 'del';

/**
 * Runs a session script and keeps the index in step. Standalone: the script gets the index keys
 * and moves the entry itself. Cluster: the index script is written in the same round trip; when
 * it finds no entry ('xx': pop, clear, transaction, metadata, which may change nothing) but the
 * session has one after the script, a second call adds it: that is how a new entry is indexed and
 * how a lost index write heals on the next write. An index failure never fails the write (the
 * write happened; readers repair the index): it only leaves the listing behind.
 */
export async function runSessionWrite(
  client: RedisSessionClient,
  lua: LuaScript,
  keys: SessionKeys,
  catalog: CatalogKeys,
  sessionId: string,
  mode: IndexMode,
  ttlArgument: string,
  args: string[],
): Promise<unknown[]> {
  const sessionKeyList = [keys.items, keys.operations, keys.operationTimes, keys.meta];
  const now = String(Date.now());
  const argv = [ttlArgument, now, sessionId, ...args];
  if (!isCluster(client)) {
    return asArray(await runScript(client, lua, [...sessionKeyList, catalog.order, catalog.at], argv));
  }
  const indexed = runScript(client, INDEX, [catalog.order, catalog.at], [mode, sessionId, now]).then(
    (reply) => Number(reply) === 1,
    () => false,
  );
  const reply = asArray(await runScript(client, lua, sessionKeyList, argv));
  const updatedAt = Number(reply[0] ?? 0);
  if (mode !== 'del' && updatedAt > 0 && !(await indexed)) {
    await runScript(client, INDEX, [catalog.order, catalog.at], ['add', sessionId, String(updatedAt)]).catch(
      () => undefined,
    );
  }
  return reply;
}

/** One session's entry as the catalog reads it, and whether it was just upgraded from the old layout. */
interface ReadEntry {
  info: SessionInfo;
  upgraded: boolean;
}

async function readEntry(
  client: RedisSessionClient,
  keys: SessionKeys,
  sessionId: string,
): Promise<ReadEntry | undefined> {
  const reply = await runScript(client, READ_INFO, [keys.items, keys.meta], [String(Date.now())]);
  if (reply === null || reply === undefined) return undefined;
  const [created, updated, metadata, count, pttl, serverNow, upgraded] = asArray(reply);
  const ttl = Number(pttl);
  const info: SessionInfo = {
    sessionId,
    createdAt: new Date(Number(text(created))),
    updatedAt: new Date(Number(text(updated))),
    itemCount: Number(count),
    metadata: decodeMetadata(text(metadata)),
    // PTTL and TIME come from the server, so the deadline is the one Redis will enforce.
    ...(ttl > 0 && { expiresAt: new Date(Number(text(serverNow)) + ttl) }),
  };
  if (!Number.isFinite(info.createdAt.getTime()) || !Number.isFinite(info.updatedAt.getTime())) {
    throw new SessionCorruptDataError(`the catalog entry of session ${JSON.stringify(sessionId)} has no valid dates`);
  }
  return { info, upgraded: Number(upgraded) === 1 };
}

function indexScript(client: RedisSessionClient, catalog: CatalogKeys, args: string[]): Promise<unknown> {
  return runScript(client, INDEX, [catalog.order, catalog.at], args);
}

/** The entry of one session; a session of the old layout is upgraded and indexed on the way. */
export async function readSessionInfo(
  client: RedisSessionClient,
  keyPrefix: string,
  catalog: CatalogKeys,
  sessionId: string,
): Promise<SessionInfo | undefined> {
  const entry = await readEntry(client, sessionKeys(keyPrefix, sessionId), sessionId);
  if (entry?.upgraded) await indexScript(client, catalog, ['add', sessionId, String(entry.info.updatedAt.getTime())]);
  return entry?.info;
}

/** A page stops after this many rounds of (range, entries), with a position to resume from. */
const MAX_ROUNDS = 4;
/** Index members read per round when a metadata filter may reject most of them. */
const FILTERED_BATCH = 250;
/** The last Date JavaScript can hold; later bounds are no bound. */
const MAX_DATE_MS = 8.64e15;

/**
 * One page: ZRANGEBYLEX from the start position, then the entries of those sessions, all sent at
 * once (one round trip per node), filtered in code (metadata equality, exact dates). Round
 * trips per page: at most MAX_ROUNDS × 3 (range, entries, repairs), whatever the store holds.
 */
export async function listCatalog(
  client: RedisSessionClient,
  keyPrefix: string,
  catalog: CatalogKeys,
  query: CatalogQuery,
): Promise<{ sessions: SessionInfo[]; next?: CatalogPosition }> {
  const bounds = lexBounds(query);
  if (!bounds) return { sessions: [] };
  let { min } = bounds;
  let start: CatalogPosition | undefined = query.after;
  const sessions: SessionInfo[] = [];
  for (let round = 0; round < MAX_ROUNDS; round++) {
    const wanted = query.limit - sessions.length + 1;
    const count = Math.min(1000, query.metadata.length > 0 ? Math.max(wanted, FILTERED_BATCH) : wanted);
    const members = asArray(await runScript(client, RANGE, [catalog.order], [min, bounds.max, String(count)])).map(
      text,
    );
    const positions = members.map((member) => {
      const position = parseCatalogMember(member);
      if (!position) throw new SessionCorruptDataError(`unexpected catalog member ${JSON.stringify(member)}`);
      return position;
    });
    const entries = await Promise.all(
      positions.map((position) =>
        readEntry(client, sessionKeys(keyPrefix, position.sessionId), position.sessionId).then((entry) => entry?.info),
      ),
    );
    const last = positions.at(-1);
    const found: SessionInfo[] = [];
    const repairs: Promise<unknown>[] = [];
    entries.forEach((info, i) => {
      const indexed = positions[i]!;
      const seen = String(indexed.updatedAt);
      if (!info) {
        // Deleted or expired: drop the member, unless a writer has moved it meanwhile.
        repairs.push(indexScript(client, catalog, ['fix', indexed.sessionId, '-1', seen]));
        return;
      }
      const truth = { updatedAt: info.updatedAt.getTime(), sessionId: info.sessionId };
      if (truth.updatedAt !== indexed.updatedAt) {
        repairs.push(indexScript(client, catalog, ['fix', indexed.sessionId, String(truth.updatedAt), seen]));
        // Listed only where it truly belongs: inside what this round covers. Later than that, the
        // repaired member is found by a later round or page; earlier (an index write that was
        // lost), this walk has passed its place (it is listed by walks that start after the repair).
        if (start && compareListing(truth, start) <= 0) return;
        if (compareListing(truth, last!) > 0) return;
      }
      if (query.updatedAfter !== undefined && truth.updatedAt <= query.updatedAfter) return;
      if (query.updatedBefore !== undefined && truth.updatedAt >= query.updatedBefore) return;
      if (query.metadata.length > 0 && !metadataMatches(info.metadata, query.metadata)) return;
      found.push(info);
    });
    await Promise.all(repairs);
    found.sort((a, b) => compareListing(positionOf(a), positionOf(b)));
    for (const info of found) {
      if (sessions.length === query.limit) return { sessions, next: positionOf(sessions.at(-1)!) };
      sessions.push(info);
    }
    if (members.length < count) return { sessions };
    min = `(${catalogMember(last!.updatedAt, last!.sessionId)}`;
    start = last;
  }
  // Bounded work: say where to resume (the last member examined), though fewer than limit came.
  return { sessions, next: start! };
}

/** ZRANGEBYLEX bounds of a query, or undefined when nothing can match. */
function lexBounds(query: CatalogQuery): { min: string; max: string } | undefined {
  let min = '-';
  let max = '+';
  if (query.updatedBefore !== undefined) {
    // updatedAt < updatedBefore: from the first member of updatedBefore - 1.
    if (query.updatedBefore <= 0) return undefined;
    if (query.updatedBefore <= MAX_DATE_MS) min = `[${timePrefix(query.updatedBefore - 1)}`;
  }
  if (query.after) {
    if (query.after.updatedAt < 0) return undefined;
    const after = `(${catalogMember(Math.min(query.after.updatedAt, MAX_DATE_MS), query.after.sessionId)}`;
    if (min === '-' || Buffer.compare(Buffer.from(after.slice(1)), Buffer.from(min.slice(1))) >= 0) min = after;
  }
  if (query.updatedAfter !== undefined && query.updatedAfter >= 0) {
    // updatedAt > updatedAfter: up to (excluding) every member of updatedAfter.
    if (query.updatedAfter >= MAX_DATE_MS) return undefined;
    max = `(${timePrefix(query.updatedAfter)}`;
  }
  return { min, max };
}

/** Listing order as Redis sorts members: newest first, then the id's UTF-8 bytes. */
function compareListing(a: CatalogPosition, b: CatalogPosition): number {
  if (a.updatedAt !== b.updatedAt) return b.updatedAt - a.updatedAt;
  return Buffer.compare(Buffer.from(a.sessionId), Buffer.from(b.sessionId));
}

function positionOf(info: SessionInfo): CatalogPosition {
  return { updatedAt: info.updatedAt.getTime(), sessionId: info.sessionId };
}

/** SCAN batches per node while backfilling: bounded memory, whatever the keyspace holds. */
const SCAN_COUNT = 500;

/**
 * Indexes every session of `keyPrefix` (what `setup()` runs): sessions written by a release
 * before the catalog get their entry (dated now, expiring with their items), and a session
 * whose index write was lost is indexed again. SCANs every master of a cluster; writes nothing
 * when every session is already indexed. Cost: one pass over the keyspace, so run it once after
 * upgrading, not per request. Answers how many sessions it looked at.
 */
export async function backfillCatalog(
  client: RedisSessionClient,
  keyPrefix: string,
  catalog: CatalogKeys,
): Promise<number> {
  const nodes = isCluster(client)
    ? await Promise.all(
        (client as unknown as ClusterLike).masters.map((master) =>
          (client as unknown as ClusterLike).nodeClient(master),
        ),
      )
    : [client];
  let seen = 0;
  for (const node of nodes) {
    const scanner = node as { scanIterator?: (options: { MATCH: string; COUNT: number }) => AsyncIterable<unknown[]> };
    if (typeof scanner.scanIterator !== 'function') {
      throw new SessionCorruptDataError('the Redis client has no scanIterator(): cannot backfill the catalog');
    }
    for await (const batch of scanner.scanIterator({ MATCH: `${keyPrefix}:{*}:items`, COUNT: SCAN_COUNT })) {
      const ids = batch.map((key) => sessionIdOfItemsKey(keyPrefix, text(key))).filter((id) => id !== undefined);
      seen += ids.length;
      await Promise.all(
        ids.map(async (id) => {
          const entry = await readEntry(client, sessionKeys(keyPrefix, id), id);
          if (entry) await indexScript(client, catalog, ['add', id, String(entry.info.updatedAt.getTime())]);
        }),
      );
    }
  }
  return seen;
}

function asArray(reply: unknown): unknown[] {
  if (!Array.isArray(reply))
    throw new SessionCorruptDataError(`Expected an array reply from Redis, got ${typeof reply}`);
  return reply;
}

/** A reply as text, whatever type mapping the caller's client uses for blob strings. */
export function text(reply: unknown): string {
  if (typeof reply === 'string') return reply;
  if (reply instanceof Uint8Array)
    return Buffer.from(reply.buffer, reply.byteOffset, reply.byteLength).toString('utf8');
  throw new SessionCorruptDataError(`Expected a string reply from Redis, got ${typeof reply}`);
}
