import {
  SessionClosedError,
  SessionConnectionError,
  SessionStorageError,
  SessionValidationError,
} from '@sessions/core';
import { MongoClient } from 'mongodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MongoSession, MongoSessionStore } from '../src/index.js';
import {
  collectionNames,
  DATABASE,
  dropCollections,
  message,
  rawClient,
  rawCommits,
  sleep,
  storedItemCount,
  uniquePrefix,
  url,
} from './helpers.js';

const raw = await rawClient();
const db = raw.db(DATABASE);
const prefix = uniquePrefix('behaviour');
const store = new MongoSessionStore({ url, database: DATABASE, collectionPrefix: prefix });
const prefixes = [prefix];

beforeAll(async () => {
  await store.ensureIndexes();
});

afterAll(async () => {
  await store.close();
  await Promise.all(prefixes.map((p) => dropCollections(db, p)));
  await raw.close();
});

/** A client that records the commands it sends (handshakes excluded), to count round trips. */
async function monitoredClient() {
  const client = new MongoClient(url, { monitorCommands: true });
  const commands: { name: string; docs?: number }[] = [];
  client.on('commandStarted', (event) => commands.push({ name: event.commandName }));
  client.on('commandSucceeded', (event) => {
    const batch = (event.reply as { cursor?: { firstBatch?: unknown[] } }).cursor?.firstBatch;
    if (batch) commands.at(-1)!.docs = batch.length;
  });
  await client.connect();
  return { client, commands };
}

describe('storage layout', () => {
  it('keeps items as canonical JSON text, one commit document per batch, ordered by rev', async () => {
    const session = store.session('layout');
    const first = [message('a'), { type: 'message', role: 'user', content: [{ text: 'b', type: 'input_text' }] }];
    await session.addItems(first);
    await session.addItems([message('c')]);
    const commits = await rawCommits(db, prefix, 'layout');
    expect(commits.map((doc) => [doc.rev, doc.prev, doc.count])).toEqual([
      [1, 0, 2],
      [2, 1, 1],
    ]);
    expect(commits[0]!.items).toEqual([
      '{"content":"a","role":"user","type":"message"}',
      '{"content":[{"text":"b","type":"input_text"}],"role":"user","type":"message"}',
    ]);
    expect(await storedItemCount(db, prefix, 'layout')).toBe(3);
  });

  it('items whose keys start with $ or contain dots round-trip, stored as text', async () => {
    const session = store.session('dollar-dot');
    const tricky = {
      type: 'function_call_result',
      callId: 'c1',
      output: { $set: { 'a.b': 1 }, $where: 'sleep(1000)', '.': { $gt: '' }, 'x.y.z': [{ $ne: null }] },
      providerData: { $oid: '0123456789abcdef01234567', $date: 0, '': 'empty key' },
    };
    await session.addItems([tricky, message('after')]);
    expect(await session.getItems()).toEqual([tricky, message('after')]);
    expect(await session.popItem()).toEqual(message('after'));
    expect(await session.getItems(1)).toEqual([tricky]);
    const commit = (await rawCommits(db, prefix, 'dollar-dot')).at(-1)!;
    expect(commit.items).toEqual([expect.any(String)]);
    expect(JSON.parse(commit.items[0])).toEqual(tricky);
  });

  it('session ids are only ever values: operator-like ids are plain data and stay isolated', async () => {
    const ids = ['victim', '{"$gt":""}', '$gt', '$where', 'a.b', '$', '.*', '{"$ne":null}', '$regex'];
    await Promise.all(ids.map((id, i) => store.session(id).addItems([message(`for ${id}`, { i })])));
    for (const [i, id] of ids.entries()) {
      expect(await store.session(id).getItems()).toEqual([message(`for ${id}`, { i })]);
      const commits = await rawCommits(db, prefix, id);
      expect(commits).toHaveLength(1);
      expect(commits[0]!.sessionId).toBe(id);
    }
    await store.session('$gt').clearSession();
    expect(await store.session('victim').getItems()).toEqual([message('for victim', { i: 0 })]);
  });
});

describe('round trips', () => {
  it('addItems is two commands on a new handle, getItems(limit) one find of the newest commits only', async () => {
    const { client, commands } = await monitoredClient();
    const mine = new MongoSessionStore({ client, database: DATABASE, collectionPrefix: prefix });
    const session = mine.session('round-trips');
    await mine.ensureIndexes();
    for (let i = 0; i < 40; i++) await session.addItems([message(`m${i}a`), message(`m${i}b`)]);
    commands.length = 0;
    await mine.session('round-trips').addItems([message('one more')]);
    // find (head) · update (the commit) · update (the session's place in the listing, catalog.ts)
    expect(commands.map((c) => c.name)).toEqual(['find', 'update', 'update']);
    commands.length = 0;
    expect(await session.getItems(3)).toEqual([message('m39a'), message('m39b'), message('one more')]);
    expect(commands).toEqual([{ name: 'find', docs: 5 }]); // limit 3 + 2: never the whole history
    commands.length = 0;
    expect(await session.getItems(1)).toEqual([message('one more')]);
    expect(commands).toEqual([{ name: 'find', docs: 3 }]);
    commands.length = 0;
    expect(await session.getItems()).toHaveLength(81);
    expect(commands.map((c) => c.name)).toEqual(['find']);
    await mine.close();
    await client.close();
  });

  it('popItem and replace_suffix read the tail, write one commit and clean up what it replaced', async () => {
    const { client, commands } = await monitoredClient();
    const mine = new MongoSessionStore({ client, database: DATABASE, collectionPrefix: prefix });
    await mine.ensureIndexes();
    const session = mine.session('pop-trips');
    await session.addItems([message('a'), message('b'), message('c')]);
    commands.length = 0;
    expect(await session.popItem()).toEqual(message('c'));
    // find (tail) · update (commit) · update (empty the replaced commit) ‖ delete (old tombstones)
    // ‖ update (the listing's copy)
    expect(commands.map((c) => c.name).sort()).toEqual(['delete', 'find', 'update', 'update', 'update']);
    expect(await storedItemCount(db, prefix, 'pop-trips')).toBe(2);
    const commits = await rawCommits(db, prefix, 'pop-trips');
    expect(commits.map((doc) => [doc.rev, doc.count, doc.dead instanceof Date])).toEqual([
      [1, 0, true],
      [2, 2, false],
    ]);
    await mine.close();
    await client.close();
  });
});

describe('stores and sessions', () => {
  it('refuses bad options before any I/O', () => {
    const client = new MongoClient(url);
    const bad: unknown[] = [
      undefined,
      null,
      {},
      { url, client },
      { url, db: client.db('x') },
      { url: '' },
      { client, database: 'bad-name' },
      { client, database: 'x.y' },
      { client, collectionPrefix: 'a b' },
      { client, collectionPrefix: '$x' },
      { client: {} },
      { db: client.db('x'), database: 'y' },
      { client, clientOptions: {} },
      { url: 'not a url' },
      { url, ttlSeconds: 0 },
    ];
    for (const [i, options] of bad.entries()) {
      expect(() => new MongoSessionStore(options as never), `bad[${i}]`).toThrow(SessionValidationError);
    }
    expect(() => new MongoSession({ sessionId: 'x' } as never)).toThrow(SessionValidationError);
    expect(() => new MongoSession({ sessionId: 'x', client, collectionPrefix: 'no-dash' })).toThrow(
      SessionValidationError,
    );
    expect(() => new MongoSession({ sessionId: '', client })).toThrow(SessionValidationError);
  });

  it('a store from your client or Db never closes it; a store from a url closes its own', async () => {
    const client = await new MongoClient(url).connect();
    for (const options of [{ client, database: DATABASE }, { db: client.db(DATABASE) }]) {
      const borrowed = new MongoSessionStore({ ...options, collectionPrefix: prefix });
      await borrowed.session('borrowed').addItems([message('x')]);
      await borrowed.close();
      expect((await client.db(DATABASE).command({ ping: 1 })).ok).toBe(1);
    }
    expect(await store.session('borrowed').getItems()).toEqual([message('x'), message('x')]);
    await client.close();

    const owned = new MongoSessionStore({ url, database: DATABASE, collectionPrefix: prefix });
    await owned.session('owned').addItems([message('y')]);
    let closed = false;
    owned.client!.on('topologyClosed', () => {
      closed = true;
    });
    await owned.close();
    expect(closed).toBe(true);
    await expect(owned.ensureIndexes()).rejects.toBeInstanceOf(SessionClosedError);
  });

  it('new MongoSession({ client }) uses agent_sessions / agent_ by default and creates indexes lazily', async () => {
    const client = await new MongoClient(url).connect();
    const ownPrefix = uniquePrefix('standalone');
    prefixes.push(ownPrefix);
    const session = new MongoSession({ sessionId: 'solo', client, collectionPrefix: ownPrefix });
    expect(session.database).toBe('agent_sessions');
    expect(new MongoSession({ sessionId: 'x', client }).collectionPrefix).toBe('agent_');
    await session.addItems([message('solo')]);
    expect(
      await new MongoSession({
        sessionId: 'solo',
        db: client.db('agent_sessions'),
        collectionPrefix: ownPrefix,
      }).getItems(),
    ).toEqual([message('solo')]);
    const indexes = await client
      .db('agent_sessions')
      .collection(collectionNames(ownPrefix).history)
      .listIndexes()
      .toArray();
    expect(indexes.find((index) => index.name === 'sessionId_rev')).toMatchObject({
      key: { sessionId: 1, rev: -1 },
      unique: true,
    });
    await dropCollections(client.db('agent_sessions'), ownPrefix);
    await client.close();
  });

  it('ensureIndexes is idempotent and safe from several clients at once', async () => {
    const ownPrefix = uniquePrefix('indexes');
    prefixes.push(ownPrefix);
    const stores = Array.from(
      { length: 4 },
      () => new MongoSessionStore({ url, database: DATABASE, collectionPrefix: ownPrefix }),
    );
    await Promise.all([...stores, ...stores].map((s) => s.ensureIndexes()));
    await stores[0]!.ensureIndexes();
    const names = collectionNames(ownPrefix);
    const history = (await db.collection(names.history).listIndexes().toArray()).map((index) => index.name).sort();
    const parts = (await db.collection(names.parts).listIndexes().toArray()).map((index) => index.name).sort();
    // The TTL index exists wherever the server implements TTL indexes (MongoDB, not FerretDB 1.x).
    const ttl = (await serverHasTtlIndexes()) ? ['expiresAt_ttl'] : [];
    expect(history).toEqual(['_id_', ...ttl, 'sessionId_ops.id', 'sessionId_rev'].sort());
    expect(parts).toEqual(['_id_', ...ttl, 'sessionId_expiresAt'].sort());
    const listing = (await db.collection(names.sessions).listIndexes().toArray()).map((index) => index.name).sort();
    expect(listing).toEqual(['_id_', 'at_id', ...ttl].sort());
    // An explicit call checks with the server again, e.g. after the collections were dropped.
    await dropCollections(db, ownPrefix);
    await stores[1]!.ensureIndexes();
    expect((await db.collection(names.history).listIndexes().toArray()).map((index) => index.name)).toContain(
      'sessionId_rev',
    );
    await Promise.all(stores.map((s) => s.close()));
  });

  it('an unreachable server is a SessionConnectionError with the driver error as cause and no password', async () => {
    const down = new MongoSessionStore({
      url: 'mongodb://user:s3cret@127.0.0.1:9/',
      clientOptions: { serverSelectionTimeoutMS: 300 },
      database: DATABASE,
      collectionPrefix: prefix,
    });
    const error = await down
      .session('down')
      .getItems()
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(SessionConnectionError);
    expect((error as Error).message).not.toContain('s3cret');
    // The driver reports it as MongoServerSelectionError or, once auto-connect gave up, MongoTopologyClosedError.
    expect((error as { cause?: { name?: string } }).cause?.name).toMatch(
      /^Mongo(ServerSelection|TopologyClosed)Error$/,
    );
    await down.close();
  });
});

describe('setup', () => {
  const indexNames = async (collection: string) =>
    (await db.collection(collection).listIndexes().toArray()).map((index) => index.name as string);

  it('setup() creates the indexes, and the old ensureIndexes() is an alias of it', async () => {
    const ownPrefix = uniquePrefix('setup');
    prefixes.push(ownPrefix);
    const names = collectionNames(ownPrefix);
    const mine = new MongoSessionStore({ url, database: DATABASE, collectionPrefix: ownPrefix });
    await mine.setup();
    expect(await indexNames(names.history)).toEqual(expect.arrayContaining(['sessionId_rev', 'sessionId_ops.id']));
    expect(await indexNames(names.parts)).toContain('sessionId_expiresAt');
    for (const again of [
      () => mine.ensureIndexes(),
      () => mine.session('s').setup(),
      () => mine.session('s').ensureIndexes(),
    ]) {
      await dropCollections(db, ownPrefix);
      await again();
      expect(await indexNames(names.history)).toContain('sessionId_rev');
    }
    await mine.close();
    await expect(mine.setup()).rejects.toBeInstanceOf(SessionClosedError);
  });

  it('a storage error names the public method: setup (for both names), or the operation that set up lazily', async () => {
    const ownPrefix = uniquePrefix('conflict');
    prefixes.push(ownPrefix);
    // An index of the package's name on another key: creating ours fails on the server (not a connection problem).
    await db.collection(collectionNames(ownPrefix).history).createIndex({ at: 1 }, { name: 'sessionId_rev' });
    const mine = new MongoSessionStore({ url, database: DATABASE, collectionPrefix: ownPrefix });
    const session = mine.session('conflict');
    const calls: [string, () => Promise<unknown>][] = [
      ['setup', () => mine.setup()],
      ['setup', () => mine.ensureIndexes()],
      ['setup', () => session.setup()],
      ['getItems', () => session.getItems()],
      ['addItems', () => session.addItems([message('x')])],
      ['popItem', () => session.popItem()],
    ];
    for (const [operation, call] of calls) {
      const error = await call().then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(error, operation).toBeInstanceOf(SessionStorageError);
      expect(error, operation).not.toBeInstanceOf(SessionConnectionError);
      expect((error as SessionStorageError).operation).toBe(operation);
      expect((error as Error).message).toMatch(new RegExp(`^${operation} failed: `));
    }
    await mine.close();
  });
});

describe('ttl', () => {
  it('commits carry a logical expiry and a later physical one; expired history reads empty and is removed on the next write', async () => {
    const short = new MongoSessionStore({ url, database: DATABASE, collectionPrefix: prefix, ttlSeconds: 1 });
    const session = short.session('ttl-fields');
    await session.addItems([message('old')]);
    const [commit] = await rawCommits(db, prefix, 'ttl-fields');
    expect(commit!.until).toBeInstanceOf(Date);
    expect(commit!.expiresAt.getTime() - commit!.until.getTime()).toBe(1000);
    await sleep(1100);
    expect(await session.getItems()).toEqual([]);
    expect(await session.popItem()).toBeUndefined();
    await session.addItems([message('new')]);
    expect(await session.getItems()).toEqual([message('new')]);
    // The expired commit is emptied at once (not left for the TTL monitor).
    expect(await storedItemCount(db, prefix, 'ttl-fields')).toBe(1);
    await short.close();
  });

  it('older commits get their physical expiry pushed before the session could outlive them', async () => {
    const short = new MongoSessionStore({ url, database: DATABASE, collectionPrefix: prefix, ttlSeconds: 1 });
    const session = short.session('ttl-bump');
    await session.addItems([message('one')]);
    await sleep(1000 * 0.7);
    await session.addItems([message('two')]); // first commit still ends after the new `until`
    await sleep(1000 * 0.7);
    await session.addItems([message('three')]); // now it would not: it is pushed first
    const commits = await rawCommits(db, prefix, 'ttl-bump');
    const head = commits.at(-1)!;
    for (const doc of commits) expect(doc.expiresAt.getTime()).toBeGreaterThanOrEqual(head.until.getTime());
    expect(head.floor.getTime()).toBeGreaterThanOrEqual(head.until.getTime());
    expect(await session.getItems()).toEqual([message('one'), message('two'), message('three')]);

    // A write without ttl makes the whole history permanent again.
    await store.session('ttl-bump').addItems([message('forever')]);
    for (const doc of await rawCommits(db, prefix, 'ttl-bump')) expect(doc.expiresAt).toBeUndefined();
    await sleep(1100);
    expect(await store.session('ttl-bump').getItems()).toHaveLength(4);
    await short.close();
  });
});

describe('ttl and the TTL index (what it would delete, simulated by hand)', () => {
  it('with stores of different ttls, the head always expires after every older live commit', async () => {
    const long = new MongoSessionStore({ url, database: DATABASE, collectionPrefix: prefix, ttlSeconds: 3600 });
    const short = new MongoSessionStore({ url, database: DATABASE, collectionPrefix: prefix, ttlSeconds: 5 });
    const steps: [MongoSessionStore, (session: MongoSession) => Promise<unknown>][] = [
      [long, (s) => s.addItems([message('one'), message('two')])],
      [short, (s) => s.addItems([message('three')])],
      [long, (s) => s.addItems([message('four')])],
      [short, (s) => s.popItem()],
      [
        short,
        (s) =>
          s.applyHistoryTransaction({
            operationId: 'mixed-1',
            transaction: { type: 'replace_suffix', expectedSuffix: [message('three')], replacement: [message('3')] },
          }),
      ],
      [store, (s) => s.addItems([message('five')])],
      [short, (s) => s.addItems([message('six')])],
      [long, (s) => s.addItems([message('seven')])],
      [short, (s) => s.clearSession()],
      [long, (s) => s.addItems([message('eight')])],
      [short, (s) => s.replaceHistoryWithCompaction([message('compacted')])],
      [short, (s) => s.addItems([message('nine')])],
    ];
    for (const [k, [owner, step]] of steps.entries()) {
      await step(owner.session('mixed'));
      const live = (await rawCommits(db, prefix, 'mixed')).filter((doc) => doc.dead === undefined);
      const head = live.at(-1)!;
      if (owner === store) continue; // written without ttl: nothing expires
      for (const doc of live.slice(0, -1)) {
        expect(doc.expiresAt, `step ${k}, rev ${doc.rev}`).toBeInstanceOf(Date);
        expect(head.expiresAt.getTime(), `step ${k}, rev ${doc.rev}`).toBeGreaterThan(doc.expiresAt.getTime());
      }
    }
    expect(await short.session('mixed').getItems()).toEqual([message('compacted'), message('nine')]);
    await Promise.all([long.close(), short.close()]);
  });

  it('a tombstone left as the newest document (its head deleted by the TTL index) reads as expired', async () => {
    const short = new MongoSessionStore({ url, database: DATABASE, collectionPrefix: prefix, ttlSeconds: 5 });
    const session = short.session('tomb-head');
    await session.addItems([message('a'), message('b')]);
    expect(await session.popItem()).toEqual(message('b'));
    const [tomb, head] = await rawCommits(db, prefix, 'tomb-head');
    expect(tomb!.dead).toBeInstanceOf(Date);
    expect(tomb!.until.getTime()).toBe(0);
    expect(tomb!.items).toBeUndefined();
    // The TTL index removes the head (its expiresAt is earlier than the tombstone's 60 s grace).
    await db.collection(collectionNames(prefix).history).deleteOne({ _id: head!._id });
    expect(await session.getItems()).toEqual([]);
    expect(await session.popItem()).toBeUndefined();
    await session.addItems([message('c')]);
    expect(await session.getItems()).toEqual([message('c')]);
    const newest = (await rawCommits(db, prefix, 'tomb-head')).at(-1)!;
    expect(newest.prev).toBe(0);
    expect(newest.base).toBe(newest.rev);
    await short.close();
  });
});

async function serverHasTtlIndexes(): Promise<boolean> {
  const probe = db.collection(`${prefix}ttl_probe`);
  try {
    await probe.createIndex({ at: 1 }, { expireAfterSeconds: 0 });
    return true;
  } catch (error) {
    if ((error as { code?: unknown }).code === 238) return false;
    throw error;
  } finally {
    await probe.drop().catch(() => undefined);
  }
}

describe('createIfMissing: false', () => {
  /** The collections of a prefix that exist, read from the server. */
  const existing = async (ownPrefix: string) =>
    (await db.listCollections({}, { nameOnly: true }).toArray())
      .map((collection) => collection.name)
      .filter((name) => name.startsWith(ownPrefix));

  it('reads of a fresh namespace are empty and create nothing; writes fail clearly and create nothing', async () => {
    const ownPrefix = uniquePrefix('nocreate');
    prefixes.push(ownPrefix);
    const reader = new MongoSessionStore({
      url,
      database: DATABASE,
      collectionPrefix: ownPrefix,
      createIfMissing: false,
    });
    const session = reader.session('absent');
    expect(await session.getItems()).toEqual([]);
    expect(await session.getItems(3)).toEqual([]);
    expect(await session.popItem()).toBeUndefined();
    await session.clearSession(); // nothing to clear: nothing written
    await session.replaceHistoryWithCompaction([]);
    expect(await existing(ownPrefix)).toEqual([]);

    const writes: [string, () => Promise<unknown>][] = [
      ['addItems', () => session.addItems([message('x')])],
      [
        'applyHistoryTransaction',
        () =>
          session.applyHistoryTransaction({
            operationId: 'op-nocreate',
            transaction: { type: 'append_items', items: [message('y')] },
          }),
      ],
      ['replaceHistoryWithCompaction', () => session.replaceHistoryWithCompaction([message('z')])],
    ];
    for (const [operation, write] of writes) {
      const error = await write().catch((e: unknown) => e);
      expect(error, operation).toBeInstanceOf(SessionStorageError);
      expect(error, operation).not.toBeInstanceOf(SessionConnectionError);
      expect((error as SessionStorageError).operation).toBe(operation);
      expect((error as Error).message).toMatch(/createIfMissing: false and setup\(\) was not run/);
    }
    // Nothing was created: no collection (so no index), for reads or refused writes.
    expect(await existing(ownPrefix)).toEqual([]);

    // Once set up (by anyone: here a store that may create), the same store writes.
    const setupStore = new MongoSessionStore({ url, database: DATABASE, collectionPrefix: ownPrefix });
    await setupStore.setup();
    await session.addItems([message('after setup')]);
    expect(await session.getItems()).toEqual([message('after setup')]);
    await Promise.all([reader.close(), setupStore.close()]);
  });

  it('on collections that exist, reads and writes work and no index is ever created', async () => {
    const ownPrefix = uniquePrefix('nocreate2');
    prefixes.push(ownPrefix);
    const setupStore = new MongoSessionStore({ url, database: DATABASE, collectionPrefix: ownPrefix });
    await setupStore.setup();
    await setupStore.close();
    const { client, commands } = await monitoredClient();
    const mine = new MongoSessionStore({
      client,
      database: DATABASE,
      collectionPrefix: ownPrefix,
      createIfMissing: false,
    });
    const session = mine.session('present');
    await session.addItems([message('a')]);
    await session.addItems([message('b')]);
    expect(await session.popItem()).toEqual(message('b'));
    expect(await session.getItems()).toEqual([message('a')]);
    const names = commands.map((command) => command.name);
    expect(names).not.toContain('createIndexes');
    expect(names).not.toContain('create');
    // The check before the first write, once per client and namespace: one listIndexes per collection.
    expect(names.filter((name) => name === 'listIndexes')).toHaveLength(2);
    await mine.close();
    await client.close();
  });
});
