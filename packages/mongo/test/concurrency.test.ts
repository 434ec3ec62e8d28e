import { SessionConflictError, SessionCorruptDataError } from '@sessions/core';
import { type Collection, type Document, type FindOptions, ObjectId } from 'mongodb';
import { afterAll, describe, expect, it } from 'vitest';
import { MongoSession, MongoSessionStore } from '../src/index.js';
import {
  collectionNames,
  DATABASE,
  dropCollections,
  message,
  rawClient,
  rawCommits,
  rawParts,
  sleep,
  storedItemCount,
  uniquePrefix,
  url,
} from './helpers.js';

const raw = await rawClient();
const db = raw.db(DATABASE);
const prefix = uniquePrefix('concurrency');
const names = collectionNames(prefix);
// Several stores, each with a MongoClient (connection pool) of its own, like separate processes:
// handles sharing one client queue their writes in-process, so only separate clients really race.
// These tests are about races, not latency: FerretDB runs writes one at a time (and a write now
// also moves its catalog entry), so 40 racing calls may queue past the default 10 s deadline on a
// busy CI machine. The deadline itself is tested in faults.test.ts.
const stores = Array.from(
  { length: 4 },
  () => new MongoSessionStore({ url, database: DATABASE, collectionPrefix: prefix, timeoutMs: 45_000 }),
);
await stores[0]!.ensureIndexes();

afterAll(async () => {
  await Promise.all(stores.map((store) => store.close()));
  await dropCollections(db, prefix);
  await raw.close();
});

const handle = (k: number, id: string) => stores[k % stores.length]!.session(id);

describe('writers on several clients', () => {
  it('appends race through the unique index: nothing lost or duplicated, batches contiguous and in order', async () => {
    const writers = 12;
    const batches = 6;
    await Promise.all(
      Array.from({ length: writers }, async (_, w) => {
        for (let b = 0; b < batches; b++) {
          await handle(w, 'appends').addItems([0, 1, 2].map((i) => message(`w${w}b${b}i${i}`, { w, b, i })));
        }
      }),
    );
    const items = await stores[0]!.session('appends').getItems();
    expect(items).toHaveLength(writers * batches * 3);
    expect(new Set(items.map((item) => item.content)).size).toBe(items.length);
    const next = new Map<number, number>();
    for (let k = 0; k < items.length; k += 3) {
      const { w, b } = items[k] as { w: number; b: number };
      for (let i = 0; i < 3; i++) expect(items[k + i]).toMatchObject({ w, b, i });
      expect(b).toBe(next.get(w) ?? 0);
      next.set(w, b + 1);
    }
    const commits = await rawCommits(db, prefix, 'appends');
    expect(commits.map((doc) => doc.rev)).toEqual(commits.map((_, i) => i + 1));
    expect(await storedItemCount(db, prefix, 'appends')).toBe(items.length);
  });

  it('pops from several clients each take a different item', async () => {
    const items = Array.from({ length: 30 }, (_, i) => message(`p${i}`, { i }));
    await handle(0, 'pops').addItems(items);
    const popped = await Promise.all(Array.from({ length: 40 }, (_, k) => handle(k, 'pops').popItem()));
    const found = popped.filter((item) => item !== undefined) as { i: number }[];
    expect(found).toHaveLength(30);
    expect(found.map((item) => item.i).sort((a, b) => a - b)).toEqual(items.map((_, i) => i));
    expect(await handle(1, 'pops').getItems()).toEqual([]);
    expect(await storedItemCount(db, prefix, 'pops')).toBe(0);
  });

  it('of racing transactions on several clients exactly one wins; one operation id applies once', async () => {
    const base = [message('a'), message('b')];
    await handle(0, 'tx').addItems(base);
    const results = await Promise.allSettled(
      Array.from({ length: 8 }, (_, k) =>
        handle(k, 'tx').applyHistoryTransaction({
          operationId: `race-${k}`,
          transaction: { type: 'replace_suffix', expectedSuffix: [message('b')], replacement: [message(`won-${k}`)] },
        }),
      ),
    );
    const winners = results.flatMap((result, k) => (result.status === 'fulfilled' ? [k] : []));
    expect(winners).toHaveLength(1);
    for (const result of results) {
      if (result.status === 'rejected') expect(result.reason).toBeInstanceOf(SessionConflictError);
    }
    expect(await handle(3, 'tx').getItems()).toEqual([message('a'), message(`won-${winners[0]}`)]);

    // The same operation retried concurrently from every client is applied exactly once.
    const args = { operationId: 'same', transaction: { type: 'append_items' as const, items: [message('once')] } };
    await Promise.all(
      Array.from({ length: 8 }, (_, k) => handle(k, 'tx').applyHistoryTransaction(structuredClone(args))),
    );
    expect(await handle(2, 'tx').getItems()).toEqual([message('a'), message(`won-${winners[0]}`), message('once')]);
  });

  it('one append_items operation id retried concurrently from several clients applies exactly once, every round', async () => {
    // The operation-id check must not be fooled by a commit landing between reading the head and
    // looking the id up: other writers keep the head moving so that window is often hit.
    const rounds = 30;
    for (let r = 0; r < rounds; r++) {
      const args = {
        operationId: `op-${r}`,
        transaction: { type: 'append_items' as const, items: [message(`r${r}`)] },
      };
      await Promise.all([
        ...Array.from({ length: 8 }, (_, k) => handle(k, 'same-op').applyHistoryTransaction(structuredClone(args))),
        ...Array.from({ length: 4 }, (_, k) =>
          handle(k, 'same-op').applyHistoryTransaction({
            operationId: `other-${r}-${k}`,
            transaction: { type: 'append_items', items: [] },
          }),
        ),
      ]);
    }
    const items = (await handle(0, 'same-op').getItems()) as { content: string }[];
    expect(items.map((item) => item.content)).toEqual(Array.from({ length: rounds }, (_, r) => `r${r}`));
    // 360 racing transactions on FerretDB (which scans the whole collection for every query) took
    // 40-58 s on a shared 2-core machine with this file alone, before and after the engine split:
    // the default 60 s left no room for the other test files running at the same time.
  }, 180_000);

  it('an operation committed by another client between the head read and the id lookup is not applied again', async () => {
    // Holds this client's next head read (a `find` with limit 1 and no operation id) until the
    // other client has committed the same operation: the exact interleaving of a lost check.
    const client = await rawClient();
    let armed = true;
    let release!: () => void;
    const gate = new Promise<void>((resolve) => {
      release = resolve;
    });
    let held!: () => void;
    const holding = new Promise<void>((resolve) => {
      held = resolve;
    });
    const bind = <T extends object>(target: T, prop: string | symbol) => {
      const value = Reflect.get(target, prop, target);
      return typeof value === 'function' ? value.bind(target) : value;
    };
    const history = (collection: Collection) =>
      new Proxy(collection, {
        get: (target, prop) => {
          if (prop !== 'find') return bind(target, prop);
          return (filter: Document, options?: FindOptions) => {
            const cursor = target.find(filter, options);
            if (!armed || 'ops.id' in filter || options?.limit !== 1) return cursor;
            armed = false;
            return {
              toArray: async () => {
                held();
                await gate;
                return cursor.toArray();
              },
            };
          };
        },
      });
    const slowDb = new Proxy(client.db(DATABASE), {
      get: (target, prop) =>
        prop === 'collection'
          ? (name: string) => (name === names.history ? history(target.collection(name)) : target.collection(name))
          : bind(target, prop),
    });
    try {
      const slow = new MongoSession({ sessionId: 'between', db: slowDb, collectionPrefix: prefix });
      const args = { operationId: 'between', transaction: { type: 'append_items' as const, items: [message('once')] } };
      const first = slow.applyHistoryTransaction(structuredClone(args));
      await holding;
      await sleep(200); // anything read alongside the held head read has been answered by now
      await handle(1, 'between').applyHistoryTransaction(structuredClone(args));
      release();
      await first;
      expect(await handle(2, 'between').getItems()).toEqual([message('once')]);
    } finally {
      release();
      await client.close();
    }
  });

  it('a reader never sees part of a batch while writers on other clients append', async () => {
    const writing = Promise.all(
      Array.from({ length: 6 }, async (_, w) => {
        for (let b = 0; b < 8; b++) {
          await handle(w, 'visible').addItems(Array.from({ length: 5 }, (_, i) => message(`w${w}b${b}`, { w, b, i })));
        }
      }),
    );
    let done = false;
    void writing.finally(() => {
      done = true;
    });
    let reads = 0;
    while (!done || reads === 0) {
      const items = (await handle(reads, 'visible').getItems()) as { w: number; b: number; i: number }[];
      reads++;
      expect(items.length % 5).toBe(0);
      for (let k = 0; k < items.length; k += 5) {
        const { w, b } = items[k]!;
        for (let i = 0; i < 5; i++) expect(items[k + i], `batch w${w}b${b} is whole`).toMatchObject({ w, b, i });
      }
    }
    await writing;
    expect(reads).toBeGreaterThan(1);
  });
});

describe('crashes and damage', () => {
  it('a writer that died after writing overflow documents leaves nothing readers can see', async () => {
    const session = handle(0, 'crashed-writer');
    await session.addItems([message('before')]);
    // What a writer leaves if it dies between its two writes: overflow documents no commit links to.
    const old = new Date(Date.now() - 2 * 24 * 60 * 60 * 1000);
    await db.collection(names.parts).insertMany([
      { _id: new ObjectId(), sessionId: 'crashed-writer', items: [JSON.stringify(message('orphan'))], at: old },
      {
        _id: new ObjectId(),
        sessionId: 'crashed-writer',
        items: [JSON.stringify(message('in flight'))],
        at: new Date(),
      },
    ]);
    expect(await session.getItems()).toEqual([message('before')]);
    await session.addItems([message('after')]);
    expect(await session.getItems()).toEqual([message('before'), message('after')]);
    expect(await session.popItem()).toEqual(message('after'));
    // A clear removes what crashed writers left long ago, never what a live writer may still link.
    await session.clearSession();
    expect((await rawParts(db, prefix, 'crashed-writer')).map((part) => part.items)).toEqual([
      [JSON.stringify(message('in flight'))],
    ]);
    expect(await session.getItems()).toEqual([]);
  });

  it('a commit whose cleanup never ran is skipped by readers and cleaned by the next rewrite', async () => {
    const session = handle(0, 'no-cleanup');
    await session.addItems([message('a'), message('b'), message('c')]);
    const [before] = await rawCommits(db, prefix, 'no-cleanup');
    expect(await session.popItem()).toEqual(message('c'));
    // Undo the cleanup: the replaced commit is back with its items, as if the writer died first.
    await db.collection(names.history).replaceOne({ _id: before!._id }, before!);
    expect(await storedItemCount(db, prefix, 'no-cleanup')).toBe(5);
    expect(await session.getItems()).toEqual([message('a'), message('b')]);
    expect(await session.getItems(1)).toEqual([message('b')]);
    expect(await session.popItem()).toEqual(message('b'));
    expect(await storedItemCount(db, prefix, 'no-cleanup')).toBe(1);
    expect(await session.getItems()).toEqual([message('a')]);
  });

  it('a history whose linked commit was deleted behind its back fails loudly, never half-read', async () => {
    const session = handle(0, 'damaged');
    for (const text of ['one', 'two', 'three']) await session.addItems([message(text)]);
    await db.collection(names.history).deleteOne({ sessionId: 'damaged', rev: 2 });
    expect(await session.getItems(1)).toEqual([message('three')]); // the newest commit alone is intact
    await expect(session.getItems()).rejects.toBeInstanceOf(SessionCorruptDataError);
    // A clear (or compaction) starts over from a sound state.
    await session.clearSession();
    await session.addItems([message('fresh')]);
    expect(await session.getItems()).toEqual([message('fresh')]);
  });

  it('a document that is not a commit is refused as corrupt data', async () => {
    await db
      .collection(names.history)
      .insertOne({ sessionId: 'foreign', rev: 1, prev: 0, base: 1, count: 2, items: ['{}'] });
    await expect(handle(0, 'foreign').getItems()).rejects.toBeInstanceOf(SessionCorruptDataError);
  });
});
