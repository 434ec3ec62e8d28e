import { OncePerClient } from '@sessions/core';
import type { Collection, Document } from 'mongodb';
import { clientOf, type Namespace } from './engine/namespace.js';
import { isIndexConflict, isNotImplemented } from './errors.js';

/** Index creation is remembered per client (or Db), database and prefix, for the process. */
const ensured = new OncePerClient();

/**
 * Creates the indexes once per client/database/prefix (concurrent callers share one promise;
 * a failure is forgotten so the next call retries). Safe when several processes do it at once:
 * `createIndex` with an identical spec is a no-op on the server. `force` runs it again (an
 * explicit `setup()` call, e.g. after the collections were dropped).
 */
export function ensureIndexes(ns: Namespace, force = false): Promise<void> {
  return ensured.run(clientOf(ns), `${ns.database}\u0000${ns.collectionPrefix}`, () => createIndexes(ns), force);
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
      await collection.createIndex(key, options);
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
