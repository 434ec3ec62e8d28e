import { OncePerClient } from '@sessions/core';
import type { Collection, Document, ListIndexesOptions } from 'mongodb';
import { callOptions, runShared } from './engine/call.js';
import { clientOf, type Namespace } from './engine/namespace.js';
import { isIndexConflict, isNamespaceNotFound, isNotImplemented } from './errors.js';

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
  return ensured.run(clientOf(ns), key, () => runShared(timeoutMs, () => createIndexes(ns)), force);
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

async function createIndexes(ns: Namespace): Promise<void> {
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
  ]);
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
