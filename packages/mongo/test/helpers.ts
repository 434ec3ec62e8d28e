import { randomUUID } from 'node:crypto';
import { type Db, MongoClient } from 'mongodb';
import { inject } from 'vitest';

export const url = inject('mongodbUrl');
/** Every test file works in this database, in collections of its own. */
export const DATABASE = 'sessions_test';

/** A collection prefix of its own for each test (file, run), so runs never collide. */
export function uniquePrefix(label: string): string {
  return `t_${label}_${randomUUID().replaceAll('-', '').slice(0, 12)}_`;
}

/** A client of the test's own, for raw checks that bypass the package. */
export async function rawClient(): Promise<MongoClient> {
  return new MongoClient(url).connect();
}

/** The documented collection names, built independently of the package. */
export function collectionNames(prefix: string): { history: string; parts: string; sessions: string } {
  return { history: `${prefix}history`, parts: `${prefix}history_parts`, sessions: `${prefix}sessions` };
}

/** Items physically stored for `sessionId` (inline and overflow), whatever their TTL or state. */
export async function storedItemCount(db: Db, prefix: string, sessionId: string): Promise<number> {
  const names = collectionNames(prefix);
  const [commits, parts] = await Promise.all([
    db
      .collection(names.history)
      .find({ sessionId }, { projection: { items: 1 } })
      .toArray(),
    db
      .collection(names.parts)
      .find({ sessionId }, { projection: { items: 1 } })
      .toArray(),
  ]);
  return [...commits, ...parts].reduce((sum, doc) => sum + (Array.isArray(doc.items) ? doc.items.length : 0), 0);
}

/** Raw documents of one session, oldest commit first. */
export async function rawCommits(db: Db, prefix: string, sessionId: string) {
  return db.collection(collectionNames(prefix).history).find({ sessionId }).sort({ rev: 1 }).toArray();
}

export async function rawParts(db: Db, prefix: string, sessionId: string) {
  return db.collection(collectionNames(prefix).parts).find({ sessionId }).toArray();
}

/** Drops a prefix's collections (test cleanup; missing collections are fine). */
export async function dropCollections(db: Db, prefix: string): Promise<void> {
  const names = collectionNames(prefix);
  await Promise.all(
    [names.history, names.parts, names.sessions].map((name) =>
      db
        .collection(name)
        .drop()
        .catch(() => undefined),
    ),
  );
}

export const message = (text: string, extra: Record<string, unknown> = {}) => ({
  type: 'message',
  role: 'user',
  content: text,
  ...extra,
});

export const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));
