import { ObjectId } from 'mongodb';
import { describe, expect, it } from 'vitest';
import type { ChainRead } from '../../src/engine/chain.js';
import { type CommitDoc, MAX_DOCUMENT_BYTES } from '../../src/engine/documents.js';
import {
  buildCommit,
  matchTail,
  needsParts,
  planAppend,
  planClear,
  planCompaction,
  planRewrite,
} from '../../src/engine/plan.js';

// What each write commits, decided from what it read: no server involved.
const now = Date.UTC(2030, 0, 1);
const operation = { id: 'op-1', fp: 'f'.repeat(32) };

function commit(rev: number, prev: number, items: string[], extra: Partial<CommitDoc> = {}): CommitDoc {
  return { sessionId: 's', rev, prev, base: 1, count: items.length, items, at: new Date(now - 1000), ...extra };
}

/** A chain read of the newest commits, as the walk returns it. */
function chainRead(links: [CommitDoc, number][], scanned = links.map(([doc]) => doc)): ChainRead {
  return {
    head: links[0]![0],
    live: true,
    chain: links.map(([doc, from]) => ({ doc, from })),
    scanned,
    covered: true,
    parts: new Map(),
  };
}

describe('a batch (addItems, append_items)', () => {
  it('starts a history on an empty session', () => {
    expect(planAppend(undefined, now, ['a'], undefined)).toEqual({
      rev: 1,
      prev: 0,
      base: 1,
      texts: ['a'],
      keptRefs: [],
    });
  });

  it('links to the head, or past an empty head to the commit before it', () => {
    const head = commit(4, 2, ['x'], { base: 2 });
    expect(planAppend(head, now, ['y'], undefined)).toMatchObject({ rev: 5, prev: 4, base: 2, rest: head });
    const popped = commit(5, 3, [], { base: 2, items: undefined });
    expect(planAppend(popped, now, ['y'], undefined)).toMatchObject({ rev: 6, prev: 3, base: 2, rest: popped });
    const cleared = commit(6, 0, [], { base: 6, items: undefined });
    const plan = planAppend(cleared, now, ['y'], undefined);
    expect(plan).toMatchObject({ rev: 7, prev: 0, base: 6 });
    expect(plan.rest).toBeUndefined(); // nothing older is needed
  });

  it('after expiry starts a new history and cleans the expired one up', () => {
    const expired = commit(3, 2, ['old'], { until: new Date(now - 1) });
    const plan = planAppend(expired, now, ['new'], operation);
    expect(plan).toMatchObject({ rev: 4, prev: 0, base: 4, cleanup: { keepRev: 0 } });
    expect(plan.rest).toBeUndefined();
    expect(plan.ops).toEqual([{ ...operation, at: new Date(now) }]);
  });
});

describe('a pop or replace_suffix', () => {
  it('matches the tail it read against the expected suffix', () => {
    const read = chainRead([
      [commit(2, 1, ['c', 'd']), 0],
      [commit(1, 0, ['a', 'b']), 1],
    ]);
    expect(matchTail(read, 3, undefined)).toEqual(['b', 'c', 'd']);
    expect(matchTail(read, 3, ['b', 'c', 'd'])).toEqual(['b', 'c', 'd']);
    expect(matchTail(read, 3, ['b', 'x', 'd'])).toBeUndefined();
    expect(matchTail(chainRead([[commit(1, 0, ['a']), 0]]), 2, undefined)).toBeUndefined(); // too short
    expect(matchTail({ ...read, live: false }, 1, undefined)).toBeUndefined();
  });

  it('commits what is kept of the cut commit plus the replacement, linked to its prev', () => {
    const older = commit(1, 0, ['a', 'b']);
    const head = commit(2, 1, ['c', 'd'], { ops: [{ id: 'earlier', fp: 'e', at: new Date(now - 5000) }] });
    const plan = planRewrite(chainRead([[head, 1]]), [head], ['D'], operation, now);
    expect(plan).toEqual({
      rev: 3,
      prev: 1,
      base: 1,
      texts: ['c', 'D'],
      keptRefs: [],
      ops: [{ ...operation, at: new Date(now) }, head.ops![0]],
      rest: head,
      cleanup: { keepRev: 1, known: [head] },
    });
    // A suffix reaching into the first commit: nothing older is kept, the chain starts anew.
    const whole = planRewrite(
      chainRead([
        [head, 0],
        [older, 1],
      ]),
      [head, older],
      [],
      undefined,
      now,
    );
    expect(whole).toMatchObject({ rev: 3, prev: 0, texts: ['a'], cleanup: { keepRev: 0 } });
    expect(whole.rest).toBeUndefined();
  });

  it('links whole overflow documents of the cut commit again instead of copying them', () => {
    const refs = [
      { id: new ObjectId(), n: 2 },
      { id: new ObjectId(), n: 1 },
    ];
    const head = commit(1, 0, [], { items: undefined, parts: refs, count: 3 });
    const read = chainRead([[head, 2]]);
    const plan = planRewrite(read, [head], ['x'], undefined, now);
    expect(plan).toMatchObject({ prev: 0, texts: ['x'], keptRefs: [refs[0]], rest: head });
    expect(needsParts('s', plan)).toBe(true);
    const doc = buildCommit('s', plan, { parts: [refs[0]!, { id: new ObjectId(), n: 1 }] }, now, {});
    expect(doc.count).toBe(3);
  });
});

describe('a compaction', () => {
  it('is a new chain in the same history, carrying the recorded operation ids', () => {
    const head = commit(5, 4, ['x'], { base: 3 });
    const withOps = [
      commit(4, 3, [], { base: 3, ops: [{ id: 'kept', fp: 'k', at: new Date(now - 1000) }] }),
      commit(2, 1, [], { ops: [{ id: 'before-clear', fp: 'b', at: new Date(now - 1000) }] }),
    ];
    const plan = planCompaction(head, withOps, ['summary'], now)!;
    expect(plan).toMatchObject({ rev: 6, prev: 0, base: 3, texts: ['summary'], cleanup: { keepRev: 0 } });
    expect(plan.ops?.map((op) => op.id)).toEqual(['kept']);
  });

  it('of an expired history forgets its ids; of an empty session with no items writes nothing', () => {
    const expired = commit(5, 4, ['x'], { until: new Date(now), ops: [{ id: 'o', fp: 'f', at: new Date(now) }] });
    const plan = planCompaction(expired, [expired], [], now)!;
    expect(plan).toMatchObject({ rev: 6, base: 6 });
    expect(plan.ops).toBeUndefined();
    expect(planCompaction(undefined, [], [], now)).toBeUndefined();
    expect(planCompaction(undefined, [], ['a'], now)).toMatchObject({ rev: 1, prev: 0, base: 1 });
  });
});

describe('a clear', () => {
  it('writes an empty marker starting a new history, also on a cleared session (a clear moves updatedAt)', () => {
    expect(planClear(undefined, now)).toBeUndefined();
    const plan = planClear(commit(3, 2, ['x']), now)!;
    expect(plan).toEqual({ rev: 4, prev: 0, base: 4, texts: [], keptRefs: [], cleanup: { keepRev: 0 } });
    const marker = buildCommit('s', plan, {}, now, {});
    expect(marker).toEqual({ sessionId: 's', rev: 4, prev: 0, base: 4, count: 0, at: new Date(now) });
    expect(planClear(marker, now)).toMatchObject({ rev: 5, prev: 0, base: 5 });
  });

  it('writes nothing on an expired history: there is nothing to clear and no entry to create', () => {
    expect(planClear(commit(3, 2, ['x'], { until: new Date(now - 1) }), now)).toBeUndefined();
    expect(planClear(commit(3, 2, ['x'], { until: new Date(now + 1) }), now)).toMatchObject({ rev: 4 });
  });
});

describe('where a commit keeps its items', () => {
  it('inline while they fit in one document, in overflow documents otherwise', () => {
    const small = planAppend(undefined, now, ['a'], undefined);
    expect(needsParts('s', small)).toBe(false);
    const text = 'x'.repeat(MAX_DOCUMENT_BYTES / 2);
    expect(needsParts('s', planAppend(undefined, now, [text, text], undefined))).toBe(true);
  });
});
