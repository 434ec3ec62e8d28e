import { SessionCorruptDataError } from '@sessions/core';
import { describe, expect, it } from 'vitest';
import { MAX_READ_ATTEMPTS, matchesSuffix, readSnapshot, walkChain } from '../../src/engine/chain.js';
import { A, CHUNK_BYTES, itemRow, itemSk, n, type Row, SORT_KEY } from '../../src/engine/layout.js';
import { descending, GENERATION, KEY_BYTES, PK, pages, partition } from './pages.js';

const texts = (count: number) => Array.from({ length: count }, (_, i) => `{"i":${i}}`);
const noPause = async () => {};

describe('walkChain', () => {
  it('returns the newest items newest first, each with its rows and the link below it', async () => {
    const { rows } = partition(texts(5));
    const result = await walkChain(undefined, pages(rows).fetch, KEY_BYTES);
    expect('inconsistent' in result).toBe(false);
    if ('inconsistent' in result) return;
    expect(result.meta).toMatchObject({ version: 3, generation: GENERATION, top: 4, nextSeq: 5 });
    expect(result.items.map((item) => item.text)).toEqual(texts(5).reverse());
    expect(result.items.map((item) => item.prev)).toEqual([3, 2, 1, 0, -1]);
    expect(result.items[0]?.rows).toEqual([{ seq: 4, bytes: expect.any(Number) }]);
  });

  it('asks for limit + 1 rows (the metadata row and the items) and stops there', async () => {
    const { rows } = partition(texts(50));
    const source = pages(rows);
    const result = await walkChain(3, source.fetch, KEY_BYTES);
    expect(source.limits).toEqual([4]);
    expect('items' in result && result.items.map((item) => item.text)).toEqual(['{"i":49}', '{"i":48}', '{"i":47}']);
  });

  it('follows pages to the end of the chain (a full read of a history larger than a page)', async () => {
    const { rows } = partition(texts(25));
    const source = pages(rows, 7);
    const result = await walkChain(undefined, source.fetch, KEY_BYTES);
    expect('items' in result && result.items).toHaveLength(25);
    expect(source.limits.length).toBe(4);
  });

  it('no metadata row, an empty history, an expired one: no items', async () => {
    const none = await walkChain(undefined, pages([]).fetch, KEY_BYTES);
    expect(none).toEqual({ meta: undefined, items: [] });
    const empty = await walkChain(undefined, pages(partition([]).rows).fetch, KEY_BYTES);
    expect('items' in empty && empty.items).toEqual([]);
    const { rows } = partition(texts(3), { expiresAtMs: 1_000 });
    const expired = await walkChain(undefined, pages(rows).fetch, KEY_BYTES, () => 1_000);
    expect('items' in expired && expired.items).toEqual([]);
    const live = await walkChain(undefined, pages(rows).fetch, KEY_BYTES, () => 999);
    expect('items' in live && live.items).toHaveLength(3);
  });

  it('skips rows above the chain (a replaced suffix, rows staged but not linked)', async () => {
    const { rows } = partition(texts(3));
    const orphan = itemRow(PK, GENERATION, { seq: 10, prev: 2, text: '{"orphan":1}', bytes: 50 }, undefined);
    const result = await walkChain(undefined, pages(descending([...rows, orphan])).fetch, KEY_BYTES);
    expect('items' in result && result.items.map((item) => item.text)).toEqual(texts(3).reverse());
  });

  it('reassembles an item split into chunks, and counts a batch header with the item it sits on', async () => {
    const big = `"${'x'.repeat(CHUNK_BYTES * 2 + 10)}"`;
    const { rows, specs } = partition(['{"small":1}', big]);
    expect(specs).toHaveLength(4);
    const result = await walkChain(1, pages(rows).fetch, KEY_BYTES);
    expect('items' in result && result.items.map((item) => item.text)).toEqual([big]);
    expect('items' in result && result.items[0]?.rows.map((row) => row.seq)).toEqual([3, 2, 1]);
    // A staged batch: rows 2.. hang off a header row 1 that links them to row 0; popping row 0's
    // item later deletes the header with it.
    const header = itemRow(PK, GENERATION, { seq: 1, prev: 0, bytes: 50 }, undefined);
    const first = itemRow(PK, GENERATION, { seq: 0, prev: -1, text: '"a"', bytes: 50 }, undefined);
    const second = itemRow(PK, GENERATION, { seq: 2, prev: 1, text: '"b"', bytes: 50 }, undefined);
    const meta = partition([], { top: 2, nextSeq: 3 }).rows[0] as Row;
    const staged = await walkChain(undefined, pages(descending([meta, header, first, second])).fetch, KEY_BYTES);
    expect('items' in staged && staged.items.map((item) => [item.text, item.rows.map((row) => row.seq)])).toEqual([
      ['"b"', [2]],
      ['"a"', [1, 0]],
    ]);
  });

  it('a missing link, a row of another generation or a broken chunk sequence is inconsistent', async () => {
    const { rows } = partition(texts(4));
    const withoutTwo = rows.filter((row) => row[SORT_KEY]?.S !== itemSk(2));
    expect(await walkChain(undefined, pages(withoutTwo).fetch, KEY_BYTES)).toEqual({ inconsistent: true, version: 3 });
    const otherGeneration = rows.map((row) =>
      row[SORT_KEY]?.S === itemSk(1) ? { ...row, [A.generation]: n(GENERATION + 1) } : row,
    );
    expect(await walkChain(undefined, pages(otherGeneration).fetch, KEY_BYTES)).toMatchObject({ inconsistent: true });
    const { rows: chunked } = partition([`"${'y'.repeat(CHUNK_BYTES + 10)}"`]);
    const missingChunk = chunked.filter((row) => row[SORT_KEY]?.S !== itemSk(0));
    expect(await walkChain(undefined, pages(missingChunk).fetch, KEY_BYTES)).toMatchObject({ inconsistent: true });
  });
});

describe('readSnapshot', () => {
  it('reads again until the walk is consistent (a write was half-applied)', async () => {
    const { rows } = partition(texts(4));
    const broken = rows.filter((row) => row[SORT_KEY]?.S !== itemSk(2));
    let reads = 0;
    const source = pages(() => (reads++ < 2 ? broken : rows));
    const snapshot = await readSnapshot(undefined, source.fetch, {
      keyBytes: KEY_BYTES,
      tableName: 't',
      pause: noPause,
    });
    expect(snapshot.items).toHaveLength(4);
    expect(reads).toBe(3);
  });

  it('a chain broken for good is SessionCorruptDataError naming the table, never a shorter history', async () => {
    const { rows } = partition(texts(4));
    const broken = rows.filter((row) => row[SORT_KEY]?.S !== itemSk(1));
    const source = pages(broken);
    const error = await readSnapshot(undefined, source.fetch, {
      keyBytes: KEY_BYTES,
      tableName: 'my_table',
      pause: noPause,
    }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(SessionCorruptDataError);
    expect((error as Error).message).toContain('my_table');
    expect(source.limits).toHaveLength(MAX_READ_ATTEMPTS);
  });

  it('a history that changes under every read fails with a plain error (the session names the operation)', async () => {
    let version = 0;
    const source = pages(() => {
      const { rows } = partition(texts(3), { version: ++version });
      return rows.filter((row) => row[SORT_KEY]?.S !== itemSk(1));
    });
    const error = await readSnapshot(undefined, source.fetch, {
      keyBytes: KEY_BYTES,
      tableName: 't',
      pause: noPause,
    }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(Error);
    expect((error as Error).name).toBe('Error');
    expect((error as Error).message).toMatch(/changed during each of 12 reads/);
  });
});

describe('readSnapshot and the deadline', () => {
  it("stops reading again once the call's deadline has passed", async () => {
    const { rows } = partition(texts(3));
    const source = pages(rows.filter((row) => row[SORT_KEY]?.S !== itemSk(1)));
    let checks = 0;
    const error = await readSnapshot(undefined, source.fetch, {
      keyBytes: KEY_BYTES,
      tableName: 't',
      pause: noPause,
      expired: () => ++checks >= 3,
    }).catch((e: unknown) => e);
    expect(error).toMatchObject({ name: 'TimeoutError' });
    expect((error as Error).message).toMatch(/deadline passed during read 3/);
    expect(source.limits).toHaveLength(3);
  });
});

describe('matchesSuffix', () => {
  it('compares the newest items (newest first) with the expected suffix (oldest first)', () => {
    const items = ['c', 'b', 'a'].map((text, i) => ({ text, rows: [], prev: 1 - i }));
    expect(matchesSuffix(items, ['b', 'c'])).toBe(true);
    expect(matchesSuffix(items, ['a', 'b', 'c'])).toBe(true);
    expect(matchesSuffix(items, ['c', 'b'])).toBe(false);
    expect(matchesSuffix(items, ['x', 'a', 'b', 'c'])).toBe(false);
    expect(matchesSuffix(items, [])).toBe(true);
  });
});
