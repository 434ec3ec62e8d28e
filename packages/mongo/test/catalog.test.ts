/**
 * The catalog on MongoDB beyond the contract suite: where the count lives (in the commit that
 * holds the items), what a page costs (two queries, whatever the number of sessions), and what
 * happens when the listing's copy lags behind a commit (a writer that died between the two):
 * reads stay exact, a page repairs the copy, the next write replaces it.
 */
import { MongoClient } from 'mongodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { listPage } from '../src/engine/catalog.js';
import type { CommitDoc } from '../src/engine/documents.js';
import { CommitLog } from '../src/engine/log.js';
import { resolveNamespace } from '../src/engine/namespace.js';
import { MongoSessionStore } from '../src/index.js';
import {
  collectionNames,
  DATABASE,
  dropCollections,
  message,
  rawClient,
  rawCommits,
  uniquePrefix,
  url,
} from './helpers.js';

const raw = await rawClient();
const db = raw.db(DATABASE);
const prefix = uniquePrefix('catalog');
const store = new MongoSessionStore({ url, database: DATABASE, collectionPrefix: prefix });
const listing = db.collection(collectionNames(prefix).sessions);

beforeAll(async () => {
  await store.setup();
});

afterAll(async () => {
  await store.close();
  await dropCollections(db, prefix);
  await raw.close();
});

/** A client that records the commands it sends (handshakes excluded). */
async function monitoredClient() {
  const client = new MongoClient(url, { monitorCommands: true });
  const commands: { name: string; collection?: string }[] = [];
  client.on('commandStarted', (event) =>
    commands.push({ name: event.commandName, collection: String(event.command[event.commandName]) }),
  );
  await client.connect();
  return { client, commands };
}

describe('the count lives in the commit that holds the items', () => {
  it('every commit carries the session total after it, written by the same single-document upsert', async () => {
    const session = store.session('totals');
    await session.addItems([message('a'), message('b')]);
    await session.addItems([message('c')]);
    await session.popItem();
    await session.updateMetadata({ owner: 'ada' });
    await session.addItems([message('d')]);
    const live = (await rawCommits(db, prefix, 'totals')).filter((doc) => doc.dead === undefined);
    // Items and total side by side in each document: no second write can make them disagree.
    expect(live.map((doc) => [doc.count, doc.total, doc.meta])).toEqual([
      [2, 2, undefined],
      [0, 2, undefined],
      [0, 2, '{"owner":"ada"}'],
      [1, 3, '{"owner":"ada"}'],
    ]);
    expect((await store.getSessionInfo('totals'))?.itemCount).toBe((await session.getItems()).length);
  });
});

describe('cost of a page', () => {
  it('two queries (listing, heads), three with a metadata filter (the scan bound), with 20 sessions and with 120', async () => {
    const { client, commands } = await monitoredClient();
    const mine = new MongoSessionStore({ client, database: DATABASE, collectionPrefix: uniquePrefix('cost') });
    try {
      await mine.setup();
      const pageCommands = async (metadata?: Record<string, string>) => {
        commands.length = 0;
        const options = { limit: 10, ...(metadata && { metadata }) };
        const page = await mine.listSessions(options);
        expect(page.sessions).toHaveLength(10);
        expect(page.nextCursor).toEqual(expect.any(String));
        const next = await mine.listSessions({ ...options, cursor: page.nextCursor });
        expect(next.sessions).toHaveLength(10);
        return commands.map((c) => `${c.name} ${c.collection?.endsWith('sessions') ? 'sessions' : 'history'}`);
      };
      const write = (from: number, to: number) =>
        Promise.all(
          Array.from({ length: to - from }, (_, i) => mine.session(`s${from + i}`).updateMetadata({ batch: 'cost' })),
        );
      await write(0, 20);
      const plain = await pageCommands();
      expect(plain).toEqual(['find sessions', 'find history', 'find sessions', 'find history']);
      const filtered = await pageCommands({ batch: 'cost' });
      expect(filtered).toEqual([...Array(2)].flatMap(() => ['find sessions', 'find sessions', 'find history']));
      for (let from = 20; from < 120; from += 10) await write(from, from + 10);
      expect(await pageCommands()).toEqual(plain);
      expect(await pageCommands({ batch: 'cost' })).toEqual(filtered);
    } finally {
      await mine.close();
      await client.close();
      await dropCollections(db, mine.collectionPrefix);
    }
  });
});

describe('when the listing copy lags behind a commit', () => {
  it('a copy that was never written (writer died after its commit): described exactly, listed after the next write', async () => {
    const session = store.session('no-copy');
    await session.addItems([message('a')]);
    await listing.deleteOne({ _id: 'no-copy' as never });
    expect(await store.getSessionInfo('no-copy')).toMatchObject({ itemCount: 1 });
    const ids = async () => (await store.listSessions({ limit: 1000 })).sessions.map((info) => info.sessionId);
    expect(await ids()).not.toContain('no-copy');
    await session.addItems([message('b')]);
    expect(await ids()).toContain('no-copy');
  });

  it('a stale copy: the page returns the head values and repairs the copy', async () => {
    const session = store.session('stale-copy');
    await session.addItems([message('a')]);
    const copy = await listing.findOne({ _id: 'stale-copy' as never });
    await session.addItems([message('b')]);
    await session.updateMetadata({ state: 'new' });
    // Put the copy of the first commit back, as if the later copies had been lost.
    await listing.replaceOne({ _id: 'stale-copy' as never }, copy!);
    const found = (await store.listSessions({ limit: 1000 })).sessions.find((info) => info.sessionId === 'stale-copy');
    expect(found).toMatchObject({ itemCount: 2, metadata: { state: 'new' } });
    const repaired = await listing.findOne({ _id: 'stale-copy' as never });
    expect(repaired?.rev).toBeGreaterThan(copy!.rev);
    expect(repaired?.mf).toEqual(['["state","new"]']);
    expect((await store.listSessions({ metadata: { state: 'new' } })).sessions.map((i) => i.sessionId)).toEqual([
      'stale-copy',
    ]);
  });

  it('a copy left behind by a delete: never listed, and dropped by the page that finds it', async () => {
    await store.session('deleted-copy').addItems([message('a')]);
    const copy = await listing.findOne({ _id: 'deleted-copy' as never });
    await store.deleteSession('deleted-copy');
    await listing.insertOne(copy!);
    const ids = (await store.listSessions({ limit: 1000 })).sessions.map((info) => info.sessionId);
    expect(ids).not.toContain('deleted-copy');
    expect(await listing.findOne({ _id: 'deleted-copy' as never })).toBeNull();
  });
});

describe('a page with a rare metadata value', () => {
  it('examines a bounded number of sessions, may come back short, and says where to resume', async () => {
    const ns = resolveNamespace({ db, collectionPrefix: uniquePrefix('bounded') }, 'test');
    const mine = new MongoSessionStore({ db, collectionPrefix: ns.collectionPrefix });
    try {
      // Two rare ones written first (listed last), then ten others.
      for (const id of ['rare-1', 'rare-2']) await mine.session(id).updateMetadata({ kind: 'rare' });
      for (let i = 0; i < 10; i++) await mine.session(`common-${i}`).updateMetadata({ kind: 'common' });
      const fieldsOf = (head: CommitDoc) =>
        new CommitLog(
          ns,
          head.sessionId,
          () => {},
          async () => {},
        ).catalogOf(head);
      const query = { limit: 10, metadata: [['kind', 'rare']] as const };
      const first = await listPage(ns, query, fieldsOf, 4);
      expect(first.sessions).toEqual([]);
      expect(first.next).toMatchObject({ sessionId: expect.stringMatching(/^common-/) });
      const found: string[] = [];
      let after = first.next;
      for (let page = 0; after && page < 10; page++) {
        const next = await listPage(ns, { ...query, after }, fieldsOf, 4);
        found.push(...next.sessions.map((info) => info.sessionId));
        after = next.next;
      }
      expect(after).toBeUndefined();
      expect(found).toEqual(['rare-2', 'rare-1']);
    } finally {
      await mine.close();
      await dropCollections(db, ns.collectionPrefix);
    }
  });
});

describe('metadata filters on MongoDB', () => {
  it('keys with dots or $ are stored and filtered; an array never equals a scalar', async () => {
    const odd = store.session('odd-keys');
    await odd.updateMetadata({ 'a.b': 1, $set: 'x', tags: ['t'], nested: { k: 'v' } });
    expect(await odd.getMetadata()).toEqual({ 'a.b': 1, $set: 'x', tags: ['t'], nested: { k: 'v' } });
    const list = async (metadata: Record<string, string | number | boolean>) =>
      (await store.listSessions({ metadata })).sessions.map((info) => info.sessionId);
    expect(await list({ 'a.b': 1, $set: 'x' })).toEqual(['odd-keys']);
    expect(await list({ 'a.b': '1' })).toEqual([]);
    expect(await list({ tags: 't' })).toEqual([]);
    expect(await list({ 'nested.k': 'v' })).toEqual([]);
  });
});
