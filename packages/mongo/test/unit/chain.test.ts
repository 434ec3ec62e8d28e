import { SessionCorruptDataError } from '@sessions/core';
import { ObjectId } from 'mongodb';
import { describe, expect, it } from 'vitest';
import {
  type ChainRead,
  type FetchPage,
  keptContent,
  matchParts,
  type PageQuery,
  supersededBy,
  walkChain,
  wantedParts,
  windowTexts,
} from '../../src/engine/chain.js';
import type { CommitDoc, PartRef } from '../../src/engine/documents.js';

// The walk over documents as a server would answer its page queries: no server involved.
const now = Date.UTC(2030, 0, 1);
const clock = () => now;

function commit(rev: number, prev: number, items: string[], extra: Partial<CommitDoc> = {}): CommitDoc {
  return { sessionId: 's', rev, prev, base: 1, count: items.length, items, at: new Date(now - 1000), ...extra };
}

/** `find({ sessionId, rev: { $lt: below } }).sort({ rev: -1 }).limit(limit)` over an array. */
function pages(docs: CommitDoc[], queries: PageQuery[] = []): FetchPage {
  return async (query) => {
    queries.push(query);
    const sorted = [...docs]
      .sort((a, b) => b.rev - a.rev)
      .filter((doc) => query.below === undefined || doc.rev < query.below);
    return query.limit === undefined ? sorted : sorted.slice(0, query.limit);
  };
}

async function read(docs: CommitDoc[], need: number, forWrite = false): Promise<ChainRead | undefined> {
  const walk = await walkChain(need, forWrite, pages(docs), clock);
  return walk && { ...walk, parts: new Map() };
}

describe('the chain walk over fetched commits', () => {
  it('an empty session is an empty, covered, non-live read', async () => {
    expect(await read([], 5)).toEqual({
      head: undefined,
      live: false,
      chain: [],
      scanned: [],
      covered: true,
      parts: new Map(),
    });
  });

  it('follows prev from the head and skips replaced commits still awaiting cleanup', async () => {
    // rev 3 was a pop of rev 2 ([c, d] → [c]); rev 2 is not emptied yet.
    const docs = [commit(1, 0, ['a', 'b']), commit(2, 1, ['c', 'd']), commit(3, 1, ['c'])];
    const all = (await read(docs, Number.POSITIVE_INFINITY))!;
    expect(all.live).toBe(true);
    expect(windowTexts(all)).toEqual(['a', 'b', 'c']);
    expect(all.chain.map((link) => link.doc.rev)).toEqual([3, 1]);
    expect(all.scanned.map((doc) => doc.rev)).toEqual([3, 2, 1]);
    expect(windowTexts((await read(docs, 2))!)).toEqual(['b', 'c']);
    expect(windowTexts((await read(docs, 1))!)).toEqual(['c']);
  });

  it('asks for need + 2 commits first, then pages four times larger below the last rev seen', async () => {
    const docs = [commit(1, 0, ['a']), commit(2, 1, ['b'])];
    for (let rev = 3; rev <= 9; rev++) docs.push(commit(rev, rev - 1, [`stale${rev}`])); // replaced, not yet cleaned
    docs.push(commit(10, 2, ['x']));
    const queries: PageQuery[] = [];
    const walk = (await walkChain(3, false, pages(docs, queries), clock))!;
    expect(windowTexts({ ...walk, parts: new Map() })).toEqual(['a', 'b', 'x']);
    expect(queries).toEqual([
      { below: undefined, limit: 5, batchSize: 5 },
      { below: 6, limit: 20, batchSize: 20 },
    ]);
    // Everything: one query without a limit.
    const unbounded: PageQuery[] = [];
    await walkChain(Number.POSITIVE_INFINITY, false, pages(docs, unbounded), clock);
    expect(unbounded).toEqual([{ below: undefined, limit: undefined, batchSize: 1000 }]);
  });

  it('an expired head or a tombstone head reads as an empty session', async () => {
    const expired = await read([commit(1, 0, ['a'], { until: new Date(now) })], 1);
    expect(expired).toMatchObject({ live: false, chain: [], head: { rev: 1 } });
    const alive = await read([commit(1, 0, ['a'], { until: new Date(now + 1) })], 1);
    expect(alive?.live).toBe(true);
    const tomb = await read([commit(1, 0, [], { dead: new Date(now), count: 0, items: undefined })], 1);
    expect(tomb).toMatchObject({ live: false, head: { rev: 1 } });
  });

  it('a missing or emptied link means the history moved on while we read: undefined, read again', async () => {
    expect(await read([commit(2, 1, ['b'])], 2)).toBeUndefined();
    const emptied = commit(1, 0, [], { dead: new Date(now), count: 0, items: undefined });
    expect(await read([emptied, commit(2, 1, ['b'])], 2)).toBeUndefined();
    // The newest commit alone still covers a window of its own size.
    expect(windowTexts((await read([commit(2, 1, ['b'])], 1))!)).toEqual(['b']);
  });

  it('for a write, reads on down to the last link’s prev so every replaced commit is known', async () => {
    const docs = [commit(1, 0, ['a']), commit(2, 1, ['b']), commit(3, 2, ['c']), commit(4, 3, ['d'])];
    const forRead = (await walkChain(1, false, pages(docs), clock))!;
    expect(forRead.scanned.map((doc) => doc.rev)).toEqual([4]);
    const forWrite = (await walkChain(1, true, pages(docs), clock))!;
    expect(forWrite.scanned.map((doc) => doc.rev)).toEqual([4]);
    expect(forWrite.covered).toBe(true);
    expect(supersededBy(forWrite, 3)).toEqual({ known: [docs[3]] });
    // A first page that ends before reaching `prev`: the rest is a range still to fetch.
    const longer = [commit(1, 0, ['a']), commit(2, 0, ['b'], { base: 1 })];
    for (let rev = 3; rev <= 8; rev++) longer.push(commit(rev, rev - 1, [`s${rev}`]));
    longer.push(commit(9, 1, ['z']));
    const walk = (await walkChain(1, true, pages(longer), clock))!;
    expect(walk.covered).toBe(false);
    expect(walk.scanned.map((doc) => doc.rev)).toEqual([9, 8, 7]);
    expect(supersededBy(walk, 1)).toEqual({ known: walk.scanned, missing: { above: 1, below: 7 } });
  });

  it('refuses a document that is not a commit', async () => {
    const foreign = { sessionId: 's', rev: 1, prev: 0, base: 1, count: 2, items: ['{}'] };
    await expect(walkChain(1, false, async () => [foreign], clock)).rejects.toBeInstanceOf(SessionCorruptDataError);
  });
});

describe('overflow documents of a window', () => {
  const ids = [new ObjectId(), new ObjectId(), new ObjectId()];
  const refs: PartRef[] = [
    { id: ids[0]!, n: 2 },
    { id: ids[1]!, n: 1 },
    { id: ids[2]!, n: 2 },
  ];
  const big = commit(2, 1, [], { items: undefined, parts: refs, count: 5 });
  const stored = new Map([
    [ids[0]!.toHexString(), ['p0', 'p1']],
    [ids[1]!.toHexString(), ['p2']],
    [ids[2]!.toHexString(), ['p3', 'p4']],
  ]);

  it('only the parts holding the window are wanted, and their items come out in order', () => {
    const link = { doc: big, from: 2 };
    expect([...wantedParts([link]).keys()]).toEqual([ids[1]!.toHexString(), ids[2]!.toHexString()]);
    const fetched = [...wantedParts([link]).values()].map((ref) => ({
      _id: ref.id,
      items: stored.get(ref.id.toHexString()),
    }));
    const parts = matchParts(wantedParts([link]), fetched)!;
    const window: ChainRead = { head: big, live: true, chain: [link], scanned: [big], covered: true, parts };
    expect(windowTexts(window)).toEqual(['p2', 'p3', 'p4']);
  });

  it('a part gone is a cut (read again); a malformed one is corrupt data', () => {
    const wanted = wantedParts([{ doc: big, from: 0 }]);
    expect(matchParts(wanted, [{ _id: ids[0]!, items: ['p0', 'p1'] }])).toBeUndefined();
    const wrong = [
      { _id: ids[0]!, items: ['p0'] },
      { _id: ids[1]!, items: ['p2'] },
      { _id: ids[2]!, items: ['p3', 'p4'] },
    ];
    expect(() => matchParts(wanted, wrong)).toThrow(SessionCorruptDataError);
  });

  it('a rewrite keeps whole parts before the cut by reference and the rest of a cut part as text', () => {
    expect(keptContent({ doc: big, from: 3 }, stored)).toEqual({ refs: [refs[0], refs[1]], texts: [] });
    expect(keptContent({ doc: big, from: 4 }, stored)).toEqual({ refs: [refs[0], refs[1]], texts: ['p3'] });
    expect(keptContent({ doc: big, from: 1 }, stored)).toEqual({ refs: [], texts: ['p0'] });
    expect(keptContent({ doc: big, from: 0 }, stored)).toEqual({ refs: [], texts: [] });
    expect(keptContent({ doc: commit(1, 0, ['a', 'b', 'c']), from: 2 }, stored)).toEqual({
      refs: [],
      texts: ['a', 'b'],
    });
  });
});
