import { OncePerClient } from '@sessions/core';
import type { Collection, Document, ListIndexesOptions } from 'mongodb';
import { assertCallActive, callOptions, runShared } from './engine/call.js';
import { copyToListing } from './engine/catalog.js';
import type { CatalogDoc } from './engine/documents.js';
import { isExpired } from './engine/expiry.js';
import { CommitLog } from './engine/log.js';
import { clientOf, type Namespace } from './engine/namespace.js';
import { isDuplicateKey, isIndexConflict, isNamespaceNotFound, isNotImplemented } from './errors.js';

/** Index creation is remembered per client (or Db), database and prefix, for the process. */
const ensured = new OncePerClient();
/** So is the check a store with `createIfMissing: false` makes before its first write. */
const verified = new OncePerClient();

/** The indexes a write relies on, by collection (the unique one above all). */
const REQUIRED_INDEXES = { history: ['sessionId_rev', 'sessionId_ops.id'], parts: ['sessionId_expiresAt'] } as const;

/**
 * Creates the indexes once per client/database/prefix (concurrent callers share one promise;
 * a failure is forgotten so the next call retries). Safe when several processes do it at once:
 * `createIndex` with an identical spec is a no-op on the server. `force` runs it again (an
 * explicit `setup()` call, e.g. after the collections were dropped).
 */
export function ensureIndexes(ns: Namespace, timeoutMs: number, force = false): Promise<void> {
  const key = `${ns.database}\u0000${ns.collectionPrefix}`;
  return ensured.run(clientOf(ns), key, () => runShared(timeoutMs, () => createIndexes(ns, force)), force);
}

/**
 * With `createIfMissing: false`, before the first write: are the collections and indexes there?
 * Checked without creating anything (`listIndexes`), once per client, database and prefix (a
 * failure is forgotten, so a later `setup()` elsewhere is noticed). A write into collections
 * without the unique index would lose the guarantee that two writers never take one `rev`.
 */
export function verifyIndexes(ns: Namespace, timeoutMs: number): Promise<void> {
  return verified.run(clientOf(ns), `${ns.database}\u0000${ns.collectionPrefix}`, () =>
    runShared(timeoutMs, () => checkIndexes(ns)),
  );
}

async function checkIndexes(ns: Namespace): Promise<void> {
  const missing = (
    await Promise.all([
      missingIndexes(ns.history, REQUIRED_INDEXES.history),
      missingIndexes(ns.parts, REQUIRED_INDEXES.parts),
    ])
  ).flat();
  if (missing.length > 0) {
    throw new Error(
      `the store was created with createIfMissing: false and setup() was not run on database ${ns.database} ` +
        `with collectionPrefix ${ns.collectionPrefix} (missing indexes: ${missing.join(', ')}); ` +
        'nothing was written. Run setup() once (or use createIfMissing: true)',
    );
  }
}

async function missingIndexes<T extends Document>(
  collection: Collection<T>,
  required: readonly string[],
): Promise<string[]> {
  const names = await indexNames(collection);
  return required.filter((name) => !names.includes(name)).map((name) => `${collection.collectionName}.${name}`);
}

async function indexNames<T extends Document>(collection: Collection<T>): Promise<string[]> {
  try {
    const indexes = await collection.listIndexes(callOptions<ListIndexesOptions>()).toArray();
    return indexes.map((index) => String(index.name));
  } catch (error) {
    if (isNamespaceNotFound(error)) return [];
    throw error;
  }
}

async function createIndexes(ns: Namespace, force: boolean): Promise<void> {
  // One spec per command: FerretDB 1.24 drops connections when several clients run a
  // multi-spec createIndexes on a new collection at once; single specs are safe everywhere.
  await Promise.all([
    (async () => {
      const history = ns.history as unknown as Collection<Document>;
      await createIndex(history, { sessionId: 1, rev: -1 }, { name: 'sessionId_rev', unique: true });
      await createIndex(history, { sessionId: 1, 'ops.id': 1 }, { name: 'sessionId_ops.id' });
      await createTtlIndex(history);
    })(),
    (async () => {
      const parts = ns.parts as unknown as Collection<Document>;
      await createIndex(parts, { sessionId: 1, expiresAt: 1 }, { name: 'sessionId_expiresAt' });
      await createTtlIndex(parts);
    })(),
    (async () => {
      // The listing's order: newest first, then session id (the index serves the sort and the cursor).
      const catalog = ns.catalog as unknown as Collection<Document>;
      await createIndex(catalog, { at: -1, _id: 1 }, { name: 'at_id' });
      await createTtlIndex(catalog);
    })(),
  ]);
  await backfillCatalog(ns, force);
}

/** Marks a database whose sessions all have a listing entry; not a string, so never a session id. */
const BACKFILLED = { catalogBackfill: 1 } as unknown as string;
const BACKFILL_BATCH = 50;

/**
 * Sessions written by the previous release have no listing entry (and heads without catalog
 * fields). Once per database (a marker records it; an explicit `setup()` runs it again), every
 * session without an entry gets its head upgraded and an entry: one pass over the session ids,
 * in batches. Sessions are upgraded lazily anyway on their next write or `getSessionInfo`;
 * this pass is what lists the ones nobody touches. Idempotent, safe from several processes.
 */
async function backfillCatalog(ns: Namespace, force: boolean): Promise<void> {
  if (!force && (await ns.catalog.findOne({ _id: BACKFILLED }, callOptions()))) return;
  const ids = ns.history.aggregate<{ _id: string }>([{ $group: { _id: '$sessionId' } }], callOptions());
  let batch: string[] = [];
  for await (const { _id } of ids) {
    if (typeof _id !== 'string') continue;
    batch.push(_id);
    if (batch.length === BACKFILL_BATCH) {
      await backfillBatch(ns, batch);
      batch = [];
    }
  }
  if (batch.length > 0) await backfillBatch(ns, batch);
  try {
    await ns.catalog.updateOne(
      { _id: BACKFILLED },
      { $set: { done: new Date() } as Partial<CatalogDoc> },
      { upsert: true, ...callOptions() },
    );
  } catch (error) {
    // Another process set the marker at the same moment.
    if (!isDuplicateKey(error)) throw error;
  }
}

async function backfillBatch(ns: Namespace, sessionIds: string[]): Promise<void> {
  const listed = await ns.catalog
    .find({ _id: { $in: sessionIds } }, { projection: { _id: 1 }, ...callOptions() })
    .toArray();
  const have = new Set(listed.map((doc) => doc._id));
  await Promise.all(
    sessionIds
      .filter((id) => !have.has(id))
      .map(async (sessionId) => {
        const log = new CommitLog(ns, sessionId, assertCallActive, async () => {});
        const head = await log.readHead(false);
        const now = Date.now();
        if (!head || isExpired(head, now)) return;
        await copyToListing(ns, { ...head, ...(await log.catalogOf(head)) }, now);
      }),
  );
}

async function createIndex(
  collection: Collection<Document>,
  key: Record<string, 1 | -1>,
  options: { name: string; unique?: boolean; expireAfterSeconds?: number },
): Promise<void> {
  for (let attempt = 1; ; attempt++) {
    try {
      await collection.createIndex(key, { ...options, ...callOptions() });
      return;
    } catch (error) {
      // Two processes creating the collection or the index at the same moment can get a
      // transient error; a conflicting existing index (codes 85, 86) is a real problem.
      if (attempt >= 3 || isIndexConflict(error) || isNotImplemented(error)) throw error;
    }
  }
}

/**
 * The TTL index that deletes expired documents (`expiresAt`, `expireAfterSeconds: 0`).
 * FerretDB 1.x answers NotImplemented (238): expiry is then enforced at read time only.
 */
async function createTtlIndex(collection: Collection<Document>): Promise<void> {
  try {
    await createIndex(collection, { expiresAt: 1 }, { name: 'expiresAt_ttl', expireAfterSeconds: 0 });
  } catch (error) {
    if (!isNotImplemented(error)) throw error;
  }
}
