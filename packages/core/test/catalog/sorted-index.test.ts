import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { SortedSessionIndex } from '../../src/catalog/sorted-index.js';
import { compareListingOrder, encodeCursor, parseListOptions, SessionValidationError } from '../../src/index.js';

describe('SortedSessionIndex', () => {
  it('agrees with a full sort after any sequence of moves and removals, and resumes after any position', () => {
    const op = fc.record({
      id: fc.constantFrom('a', 'b', 'c', 'd', 'e', 'ü'),
      at: fc.integer({ min: 0, max: 5 }),
      remove: fc.boolean(),
    });
    fc.assert(
      fc.property(fc.array(op, { maxLength: 60 }), (ops) => {
        const index = new SortedSessionIndex();
        const truth = new Map<string, number>();
        for (const { id, at, remove } of ops) {
          if (remove) {
            if (truth.has(id)) index.remove(id, truth.get(id)!);
            truth.delete(id);
          } else {
            index.move(id, truth.get(id), at);
            truth.set(id, at);
          }
        }
        const expected = [...truth]
          .map(([sessionId, updatedAt]) => ({ sessionId, updatedAt }))
          .sort(compareListingOrder);
        expect([...index.from(undefined)]).toEqual(expected);
        expect(index.size).toBe(expected.length);
        for (const [i, position] of expected.entries())
          expect([...index.from(position)]).toEqual(expected.slice(i + 1));
      }),
      { numRuns: 300 },
    );
  });
});

describe('cursors', () => {
  it('round-trip for the same filter and are refused for another one', () => {
    const query = parseListOptions({ metadata: { b: 1, a: 'x' }, limit: 5 });
    const cursor = encodeCursor({ updatedAt: 1_700_000_000_123, sessionId: 'user/42 ü' }, query);
    expect(cursor).toMatch(/^[A-Za-z0-9_-]+$/);
    // Key order of the filter does not matter; its content does.
    expect(parseListOptions({ metadata: { a: 'x', b: 1 }, cursor }).after).toEqual({
      updatedAt: 1_700_000_000_123,
      sessionId: 'user/42 ü',
    });
    expect(() => parseListOptions({ metadata: { a: 'x' }, cursor })).toThrow(SessionValidationError);
    expect(() => parseListOptions({ cursor: cursor.slice(0, -2) })).toThrow(SessionValidationError);
  });
});
