/**
 * A database written by the previous release (commit log without catalog fields, no
 * `<prefix>sessions` collection) keeps working: the new store lists its sessions (backfill in
 * setup, once per database), describes them exactly (computed on first touch and stored on the
 * head) and writes on top of them. The old layout is a fixture copied from the previous release
 * (`git show HEAD:packages/mongo/src/setup.ts` and the commits its engine wrote), built here
 * with a raw client so that no code of this package is involved.
 */
import type { Db, Document } from 'mongodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MongoSessionStore } from '../src/index.js';
import { collectionNames, DATABASE, dropCollections, message, rawClient, uniquePrefix, url } from './helpers.js';

const raw = await rawClient();
const db = raw.db(DATABASE);
const prefixes: string[] = [];
const stores: MongoSessionStore[] = [];

afterAll(async () => {
  await Promise.all(stores.map((store) => store.close()));
  await Promise.all(prefixes.map((prefix) => dropCollections(db, prefix)));
  await raw.close();
});

/** The previous release's indexes, one spec per command as it created them (its TTL index is not supported on FerretDB 1.x). */
async function createOldLayout(target: Db, prefix: string): Promise<void> {
  const { history, parts } = collectionNames(prefix);
  await target.collection(history).createIndex({ sessionId: 1, rev: -1 }, { name: 'sessionId_rev', unique: true });
  await target.collection(history).createIndex({ sessionId: 1, 'ops.id': 1 }, { name: 'sessionId_ops.id' });
  await target.collection(parts).createIndex({ sessionId: 1, expiresAt: 1 }, { name: 'sessionId_expiresAt' });
}

const text = (content: string) => JSON.stringify(message(content));
const minutesAgo = (minutes: number) => new Date(Date.now() - minutes * 60_000);

/**
 * Commits exactly as the previous engine wrote them (fields: sessionId, rev, prev, base, count,
 * items, ops, at, until, expiresAt, floor, dead; nothing else).
 */
function oldCommits(): Document[] {
  const tombstone = (at: Date) => ({
    count: 0,
    dead: at,
    until: new Date(0),
    expiresAt: new Date(Date.now() + 60_000),
  });
  return [
    // old-a: two batches ([a1, a2], then [a3]), then a pop of a3 (a rewrite that emptied rev 2 into a tombstone).
    { sessionId: 'old-a', rev: 1, prev: 0, base: 1, count: 2, items: [text('a1'), text('a2')], at: minutesAgo(30) },
    { sessionId: 'old-a', rev: 2, prev: 1, base: 1, at: minutesAgo(20), ...tombstone(minutesAgo(10)) },
    { sessionId: 'old-a', rev: 3, prev: 1, base: 1, count: 0, at: minutesAgo(10) },
    // old-b: one item, a clear (a marker starting a new history), then two items with an operation id.
    { sessionId: 'old-b', rev: 1, prev: 0, base: 1, at: minutesAgo(50), ...tombstone(minutesAgo(40)) },
    { sessionId: 'old-b', rev: 2, prev: 0, base: 2, count: 0, at: minutesAgo(40) },
    {
      sessionId: 'old-b',
      rev: 3,
      prev: 0,
      base: 2,
      count: 2,
      items: [text('b1'), text('b2')],
      ops: [{ id: 'op-b', fp: 'f'.repeat(32), at: minutesAgo(5) }],
      at: minutesAgo(5),
    },
  ];
}

describe('a database written by the previous release', () => {
  let prefix: string;
  let store: MongoSessionStore;

  beforeAll(async () => {
    prefix = uniquePrefix('migration');
    prefixes.push(prefix);
    await createOldLayout(db, prefix);
    await db.collection(collectionNames(prefix).history).insertMany(oldCommits());
    store = new MongoSessionStore({ url, database: DATABASE, collectionPrefix: prefix });
    stores.push(store);
  });

  it('lists the old sessions, newest first, with exact counts and dates from their commits', async () => {
    const page = await store.listSessions();
    expect(page.nextCursor).toBeUndefined();
    expect(page.sessions.map((info) => [info.sessionId, info.itemCount])).toEqual([
      ['old-b', 2],
      ['old-a', 2],
    ]);
    const [b, a] = page.sessions;
    // created: the oldest commit left of the current history; updated: the head's `at`.
    expect(a!.createdAt.getTime()).toBeCloseTo(minutesAgo(30).getTime(), -4);
    expect(a!.updatedAt.getTime()).toBeCloseTo(minutesAgo(10).getTime(), -4);
    expect(b!.createdAt.getTime()).toBeCloseTo(minutesAgo(40).getTime(), -4);
    expect(b).toMatchObject({ metadata: {}, itemCount: 2 });
    expect(b!.expiresAt).toBeUndefined();
  });

  it('describes them exactly, reads their items, and stored the catalog fields on their heads', async () => {
    expect(await store.getSessionInfo('old-a')).toMatchObject({ itemCount: 2, metadata: {} });
    expect(await store.session('old-a').getItems()).toEqual([message('a1'), message('a2')]);
    expect(await store.session('old-b').getItems()).toEqual([message('b1'), message('b2')]);
    const heads = await db
      .collection(collectionNames(prefix).history)
      .find({ rev: 3 })
      .sort({ sessionId: 1 })
      .toArray();
    expect(heads.map((head) => head.total)).toEqual([2, 2]);
    expect(heads.every((head) => head.created instanceof Date)).toBe(true);
  });

  it('writes on top of an old history: counts move with the items, the written session comes first', async () => {
    const session = store.session('old-a');
    await session.addItems([message('a3'), message('a4')]);
    expect(await session.getItems()).toEqual([message('a1'), message('a2'), message('a3'), message('a4')]);
    const info = await store.getSessionInfo('old-a');
    expect(info).toMatchObject({ itemCount: 4 });
    expect(info!.createdAt.getTime()).toBeCloseTo(minutesAgo(30).getTime(), -4);
    expect(Date.now() - info!.updatedAt.getTime()).toBeLessThan(60_000);
    expect((await store.listSessions()).sessions.map((s) => [s.sessionId, s.itemCount])).toEqual([
      ['old-a', 4],
      ['old-b', 2],
    ]);
    await session.popItem();
    expect(await store.getSessionInfo('old-a')).toMatchObject({ itemCount: 3 });
    await store.session('old-b').updateMetadata({ migrated: true });
    expect(await store.getSessionInfo('old-b')).toMatchObject({ itemCount: 2, metadata: { migrated: true } });
  });

  it('a session an old process writes after the backfill is described at once and listed after its next write or setup()', async () => {
    await db.collection(collectionNames(prefix).history).insertOne({
      sessionId: 'old-late',
      rev: 1,
      prev: 0,
      base: 1,
      count: 1,
      items: [text('late')],
      at: minutesAgo(1),
    });
    expect(await store.getSessionInfo('old-late')).toMatchObject({ itemCount: 1 });
    // The backfill of this database already ran (a marker records it): not listed yet.
    expect((await store.listSessions()).sessions.map((s) => s.sessionId)).not.toContain('old-late');
    await store.setup();
    expect((await store.listSessions()).sessions.map((s) => [s.sessionId, s.itemCount])).toContainEqual([
      'old-late',
      1,
    ]);
  });

  it('a store with createIfMissing: false keeps writing to an old database without a new setup()', async () => {
    const other = await oldDatabaseWith('strict');
    const strict = new MongoSessionStore({ url, database: DATABASE, collectionPrefix: other, createIfMissing: false });
    stores.push(strict);
    await strict.session('old-a').addItems([message('strict')]);
    expect(await strict.getSessionInfo('old-a')).toMatchObject({ itemCount: 3 });
  });
});

async function oldDatabaseWith(label: string): Promise<string> {
  const prefix = uniquePrefix(`migration_${label}`);
  prefixes.push(prefix);
  await createOldLayout(db, prefix);
  await db.collection(collectionNames(prefix).history).insertMany(oldCommits());
  return prefix;
}
